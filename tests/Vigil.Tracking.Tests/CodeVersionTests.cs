namespace Vigil.Tracking.Tests;

public sealed class CodeVersionTests : IDisposable
{
    private const string CommitA = "0123456789abcdef0123456789abcdef01234567";
    private const string CommitB = "89abcdef0123456789abcdef0123456789abcdef";
    private readonly TempDir _dir = new();

    public void Dispose() => _dir.Dispose();

    private string Write(string relative, string text)
    {
        var path = _dir.File(relative);
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        File.WriteAllText(path, text);
        return path;
    }

    [Fact]
    public void A_branch_head_resolves_through_its_loose_ref_from_a_subfolder()
    {
        Write("repo/.git/HEAD", "ref: refs/heads/main\n");
        Write("repo/.git/refs/heads/main", CommitA + "\n");
        Directory.CreateDirectory(_dir.File("repo/src/deep"));

        CodeVersion.TryGetGitCommit(_dir.File("repo/src/deep")).ShouldBe(CommitA);
    }

    [Fact]
    public void A_branch_head_resolves_through_packed_refs()
    {
        Write("repo/.git/HEAD", "ref: refs/heads/release\n");
        Write("repo/.git/packed-refs", $"# pack-refs with: peeled fully-peeled sorted\n{CommitA} refs/heads/main\n{CommitB} refs/heads/release\n");

        CodeVersion.TryGetGitCommit(_dir.File("repo")).ShouldBe(CommitB);
    }

    [Fact]
    public void A_detached_head_is_the_commit_itself()
    {
        Write("repo/.git/HEAD", CommitB.ToUpperInvariant() + "\n");

        CodeVersion.TryGetGitCommit(_dir.File("repo")).ShouldBe(CommitB);
    }

    [Fact]
    public void A_worktree_follows_its_gitdir_file_and_the_common_refs()
    {
        Write("main/.git/refs/heads/feature", CommitA);
        Write("main/.git/worktrees/wt/HEAD", "ref: refs/heads/feature");
        Write("main/.git/worktrees/wt/commondir", "../..");
        Write("wt/.git", "gitdir: " + _dir.File("main/.git/worktrees/wt"));

        CodeVersion.TryGetGitCommit(_dir.File("wt")).ShouldBe(CommitA);
    }

    [Fact]
    public void An_unborn_branch_or_a_broken_gitdir_file_gives_null()
    {
        Write("fresh/.git/HEAD", "ref: refs/heads/main");
        Write("broken/.git", "not a gitdir line");

        CodeVersion.TryGetGitCommit(_dir.File("fresh")).ShouldBeNull();
        CodeVersion.TryGetGitCommit(_dir.File("broken")).ShouldBeNull();
    }
}
