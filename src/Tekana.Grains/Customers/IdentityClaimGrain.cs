using Tekana.Abstractions;
using Tekana.Abstractions.Customers;
using Tekana.Grains.Hosting;

namespace Tekana.Grains.Customers;

public sealed class IdentityClaimGrain(
    [PersistentState("claim", StorageNames.Customers)] IPersistentState<IdentityClaimState> state)
    : Grain, IIdentityClaimGrain
{
    public async Task<bool> TryClaim(string customerId)
    {
        if (state.State.OwnerId == customerId)
        {
            return true;
        }
        if (state.State.OwnerId is { } owner
            && await GrainFactory.Reference<ICustomerGrain>(owner).HoldsIdentity(this.GetPrimaryKeyString()))
        {
            return false;
        }
        state.State.OwnerId = customerId;
        // The ETag check of this write is what makes the claim race-free even if a second activation ever existed.
        await state.WriteStateAsync();
        return true;
    }

    public async Task Release(string customerId)
    {
        if (state.State.OwnerId == customerId)
        {
            await state.ClearStateAsync();
        }
    }

    public Task<string?> GetOwner() => Task.FromResult(state.State.OwnerId);
}
