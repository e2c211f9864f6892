namespace Vigil.Tracking;

/// <summary>Finds the git commit of a working directory by reading .git directly (no git process).</summary>
public static class CodeVersion
{
    /// <summary>
    /// The 40-hex commit checked out in <paramref name="directory"/> or one of its parents, or null when
    /// there is no git repository or HEAD cannot be resolved. Understands worktrees (".git" files),
    /// detached heads, loose refs and packed-refs.
    /// </summary>
    public static string? TryGetGitCommit(string directory)
    {
        ArgumentNullException.ThrowIfNull(directory);
        try
        {
            var gitDir = FindGitDir(Path.GetFullPath(directory));
            if (gitDir is null)
            {
                return null;
            }
            var commonDir = gitDir;
            var commonFile = Path.Combine(gitDir, "commondir");
            if (File.Exists(commonFile))
            {
                commonDir = Path.GetFullPath(Path.Combine(gitDir, File.ReadAllText(commonFile).Trim()));
            }
            var headFile = Path.Combine(gitDir, "HEAD");
            if (!File.Exists(headFile))
            {
                return null;
            }
            var head = File.ReadAllText(headFile).Trim();
            for (var depth = 0; depth < 8; depth++)
            {
                if (!head.StartsWith("ref:", StringComparison.Ordinal))
                {
                    return IsSha(head) ? head.ToLowerInvariant() : null;
                }
                var name = head[4..].Trim();
                var resolved = ReadLooseRef(gitDir, name) ?? ReadLooseRef(commonDir, name) ?? ReadPackedRef(commonDir, name);
                if (resolved is null)
                {
                    return null;
                }
                head = resolved;
            }
            return null;
        }
        catch (IOException)
        {
            return null;
        }
        catch (UnauthorizedAccessException)
        {
            return null;
        }
    }

    private static string? FindGitDir(string start)
    {
        for (var dir = new DirectoryInfo(start); dir is not null; dir = dir.Parent)
        {
            var candidate = Path.Combine(dir.FullName, ".git");
            if (Directory.Exists(candidate))
            {
                return candidate;
            }
            if (File.Exists(candidate))
            {
                var text = File.ReadAllText(candidate).Trim();
                if (text.StartsWith("gitdir:", StringComparison.Ordinal))
                {
                    return Path.GetFullPath(Path.Combine(dir.FullName, text[7..].Trim()));
                }
                return null;
            }
        }
        return null;
    }

    private static string? ReadLooseRef(string gitDir, string name)
    {
        var path = Path.Combine(gitDir, name.Replace('/', Path.DirectorySeparatorChar));
        return File.Exists(path) ? File.ReadAllText(path).Trim() : null;
    }

    private static string? ReadPackedRef(string gitDir, string name)
    {
        var path = Path.Combine(gitDir, "packed-refs");
        if (!File.Exists(path))
        {
            return null;
        }
        foreach (var line in File.ReadLines(path))
        {
            if (line.Length > 41 && line[40] == ' ' && line.AsSpan(41).SequenceEqual(name))
            {
                return line[..40];
            }
        }
        return null;
    }

    private static bool IsSha(string text)
    {
        if (text.Length != 40)
        {
            return false;
        }
        foreach (var c in text)
        {
            if (!char.IsAsciiHexDigit(c))
            {
                return false;
            }
        }
        return true;
    }
}
