namespace Vigil.Cli.Tests;

public sealed class CliErrorTests
{
    [Fact]
    public void Unknown_option_exits_2_with_one_line()
    {
        using var dir = new TempDir();
        VigilProcess.RunProcess(dir.Path, null, "train", "--data", "x.csv", "--out", "m", "--bogus").ShouldFailWithOneLine("--bogus");
    }

    [Fact]
    public void Missing_required_option_names_it()
    {
        using var dir = new TempDir();
        VigilProcess.RunProcess(dir.Path, null, "score", "--data", "x.csv").ShouldFailWithOneLine("--model");
    }

    [Fact]
    public void No_command_exits_2()
    {
        using var dir = new TempDir();
        VigilProcess.Run(dir.Path).ExitCode.ShouldBe(2);
    }

    [Fact]
    public void Help_succeeds_and_lists_the_commands()
    {
        using var dir = new TempDir();
        var r = VigilProcess.RunProcess(dir.Path, null, "--help");
        r.ShouldSucceed();
        foreach (var c in new[] { "generate", "train", "score", "evaluate", "bench", "quickstart" })
        {
            r.StdOut.ShouldContain(c);
        }
    }

    [Fact]
    public void Missing_data_file_is_one_line_naming_the_file()
    {
        using var dir = new TempDir();
        VigilProcess.RunProcess(dir.Path, null, "train", "--data", "nope.csv", "--out", "m").ShouldFailWithOneLine("nope.csv", "not found");
    }

    [Fact]
    public void Malformed_csv_names_line_and_column()
    {
        using var dir = new TempDir();
        File.WriteAllText(dir.File("bad.csv"), "a,b,label\n1,2,0\n3,x,1\n");
        VigilProcess.RunProcess(dir.Path, null, "train", "--data", "bad.csv", "--label", "label", "--out", "m", "--schema", "b:float64")
            .ShouldFailWithOneLine("bad.csv", "line 3", "'b'");
    }

    [Fact]
    public void Wrong_field_count_names_the_line()
    {
        using var dir = new TempDir();
        File.WriteAllText(dir.File("bad.csv"), "a,b,label\n1,2,0\n3,1\n");
        VigilProcess.RunProcess(dir.Path, null, "train", "--data", "bad.csv", "--out", "m").ShouldFailWithOneLine("bad.csv", "line 3");
    }

    [Fact]
    public void Unknown_model_kind_is_refused()
    {
        using var dir = new TempDir();
        File.WriteAllText(dir.File("d.csv"), "a,label\n1,0\n");
        VigilProcess.RunProcess(dir.Path, null, "train", "--data", "d.csv", "--kind", "svm", "--out", "m").ShouldFailWithOneLine("svm");
    }

    [Fact]
    public void Bad_fraction_is_refused_with_the_option_name()
    {
        using var dir = new TempDir();
        VigilProcess.RunProcess(dir.Path, null, "generate", "transactions", "--rows", "10", "--fraud-rate", "1.5", "--out", "t.csv")
            .ShouldFailWithOneLine("fraud");
    }

    [Fact]
    public void Unknown_output_extension_is_refused()
    {
        using var dir = new TempDir();
        VigilProcess.RunProcess(dir.Path, null, "generate", "transactions", "--rows", "10", "--out", "t.xlsx").ShouldFailWithOneLine("t.xlsx");
    }

    [Fact]
    public void Missing_bundle_is_one_line()
    {
        using var dir = new TempDir();
        File.WriteAllText(dir.File("d.csv"), "a,label\n1,0\n");
        VigilProcess.RunProcess(dir.Path, null, "score", "--model", "nomodel", "--data", "d.csv", "--out", "s.csv").ShouldFailWithOneLine("nomodel");
    }

    [Theory]
    [InlineData("a,label\n1,0\nx,0\n")] // a value that changes the column's type
    [InlineData("a,label\n1,0\n\"2,0\n")] // an unterminated quote
    [InlineData("")] // no rows
    public void A_missing_model_is_the_error_reported_whatever_the_data(string data)
    {
        // The model loads while the data's first chunk is read; the model's error still comes first, as when it was loaded first.
        using var dir = new TempDir();
        File.WriteAllText(dir.File("d.csv"), data);

        VigilProcess.Run(dir.Path, "score", "--model", "nomodel", "--data", "d.csv", "--out", "s.csv").ShouldFailWithOneLine("nomodel");
        Assert.False(File.Exists(dir.File("s.csv")));
    }
}
