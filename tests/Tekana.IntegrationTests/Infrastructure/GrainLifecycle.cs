using Orleans.Runtime.Diagnostics;

namespace Tekana.IntegrationTests.Infrastructure;

/// <summary>Orleans' lifecycle events of every activation in this process (the in-process test silos').</summary>
public static class GrainLifecycle
{
    /// <summary>Calls <paramref name="onEvent"/> for each event until the subscription is disposed.</summary>
    public static IDisposable Watch(Action<GrainLifecycleEvents.LifecycleEvent> onEvent) =>
        GrainLifecycleEvents.AllEvents.Subscribe(new Observer(onEvent));

    private sealed class Observer(Action<GrainLifecycleEvents.LifecycleEvent> onNext) : IObserver<GrainLifecycleEvents.LifecycleEvent>
    {
        public void OnNext(GrainLifecycleEvents.LifecycleEvent value) => onNext(value);

        public void OnError(Exception error)
        {
        }

        public void OnCompleted()
        {
        }
    }
}
