using Vigil.Pipelines;

namespace Vigil.Pipelines.Tests;

public sealed class PipelinesAssemblyTests
{
    [Fact]
    public void Assembly_name_is_the_project_name() =>
        typeof(PipelinesAssembly).Assembly.GetName().Name.ShouldBe(PipelinesAssembly.Name);
}
