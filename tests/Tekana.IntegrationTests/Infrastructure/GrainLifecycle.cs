using Orleans.Runtime.Diagnostics;

namespace Tekana.IntegrationTests.Infrastructure;

/// <summary>Orleans' lifecycle events of every activation, and of its timers, in this process (the in-process test silos').</summary>
public static class GrainLifecycle
{
    /// <summary>Calls <paramref name="onEvent"/> for each event until the subscription is disposed.</summary>
    public static IDisposable Watch(Action<GrainLifecycleEvents.LifecycleEvent> onEvent) =>
        GrainLifecycleEvents.AllEvents.Subscribe(new Observer<GrainLifecycleEvents.LifecycleEvent>(onEvent));

    /// <summary>Calls <paramref name="onEvent"/> for each grain timer's event (created, ticked, disposed) until the subscription is disposed.</summary>
    public static IDisposable WatchTimers(Action<GrainTimerEvents.TimerEvent> onEvent) =>
        GrainTimerEvents.AllEvents.Subscribe(new Observer<GrainTimerEvents.TimerEvent>(onEvent));

    private sealed class Observer<T>(Action<T> onNext) : IObserver<T>
    {
        public void OnNext(T value) => onNext(value);

        public void OnError(Exception error)
        {
        }

        public void OnCompleted()
        {
        }
    }
}
