using Spillway.Server.Storage;
namespace Spillway.Server.Activities.Seeding;
// TEMP STUB until branch catalog lands.
public sealed class DemoActivityGenerator(int seed)
{
    public IEnumerable<ActivityRecord> Generate(long count, DateTimeOffset from, DateTimeOffset to, long firstMarketoGuid)
    {
        var r = new Random(seed);
        var span = (to - from).TotalSeconds;
        for (long i = 0; i < count; i++)
        {
            var t = from.AddSeconds(Math.Floor(span * i / Math.Max(1, count)));
            yield return new ActivityRecord(firstMarketoGuid + i, r.Next(1, 1000), t, 1, null, 1, "page \"x\", y", "{\"A\":1}", "succeeded");
        }
    }
}
