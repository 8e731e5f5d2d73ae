using System.Text.Json;
using LiveKBench.Arena.Store;

namespace LiveKBench.Arena.Bugs;

/// <summary>A bug bundle or export file is malformed; the message names the file (and line) at fault.</summary>
public sealed class BugImportException(string message, Exception? inner = null) : Exception(message, inner);

/// <summary>
/// Reads bug bundles: folders in the layout of shared/data/realbugs (schema <c>livekbench-bug-bundle/1</c>):
/// <c>bug.json</c> plus the files it names (reproducers, fix patch, config fragment and/or full config).
/// </summary>
public static class BugBundleReader
{
    /// <summary>The bundle folders under <paramref name="path"/>: the folder itself when it has bug.json, else its sub-folders that have one (others are skipped), sorted by name.</summary>
    /// <exception cref="BugImportException">The path does not exist.</exception>
    public static IReadOnlyList<string> FindBundles(string path)
    {
        if (!Directory.Exists(path))
        {
            throw new BugImportException($"{path}: no such folder");
        }
        if (File.Exists(Path.Combine(path, "bug.json")))
        {
            return [Path.GetFullPath(path)];
        }
        return [.. Directory.GetDirectories(path)
            .Where(d => File.Exists(Path.Combine(d, "bug.json")))
            .Select(Path.GetFullPath)
            .Order(StringComparer.Ordinal)];
    }

    /// <summary>Reads one bundle folder into a document stamped with <paramref name="addedTime"/>.</summary>
    /// <exception cref="BugImportException">bug.json is not valid, or a file it names is missing or unreadable (the message names the file).</exception>
    public static BugDocument Read(string folder, DateTime addedTime)
    {
        var bugJsonPath = Path.Combine(folder, "bug.json");
        JsonElement root;
        string bugJsonText;
        try
        {
            bugJsonText = ReadText(bugJsonPath);
            using var doc = JsonDocument.Parse(bugJsonText);
            root = doc.RootElement.Clone();
        }
        catch (JsonException ex)
        {
            throw new BugImportException($"{bugJsonPath}: not valid JSON: {ex.Message}", ex);
        }
        if (root.ValueKind != JsonValueKind.Object)
        {
            throw new BugImportException($"{bugJsonPath}: expected a JSON object");
        }
        var title = Str(root, "title") ?? throw new BugImportException($"{bugJsonPath}: missing \"title\"");
        var statusText = Str(root, "status") ?? "fixed";
        BugStatus status;
        try
        {
            status = EnumText.Parse<BugStatus>(statusText);
        }
        catch (FormatException ex)
        {
            throw new BugImportException($"{bugJsonPath}: \"status\": {ex.Message}", ex);
        }
        var syzbot = Obj(root, "syzbot");
        var extid = syzbot is { } s1 ? Str(s1, "extid") : null;
        var syzbotId = syzbot is { } s2 ? Str(s2, "id") : null;
        var key = Path.GetFileName(folder.TrimEnd('/'));
        // Our own samples are not syzbot bugs: they carry a top-level "id" instead.
        var id = extid ?? syzbotId ?? Str(root, "id") ?? throw new BugImportException($"{bugJsonPath}: needs \"syzbot\": {{\"extid\"}} or {{\"id\"}}, or a top-level \"id\"");

        var kernel = Obj(root, "kernel");
        var config = Obj(root, "config");
        string? fragment = null, full = null, configBase = null;
        if (config is { } c)
        {
            configBase = Str(c, "base");
            if (Str(c, "fragment") is { } fragFile)
            {
                fragment = ReadNamed(folder, fragFile, bugJsonPath);
            }
            if (Str(c, "full") is { } fullFile)
            {
                full = ReadNamed(folder, fullFile, bugJsonPath);
            }
        }
        if (fragment is null && full is null)
        {
            throw new BugImportException($"{bugJsonPath}: needs \"config\" with a \"fragment\" or \"full\" file");
        }

        var reproducers = new List<ReproducerDocument>();
        if (Obj(root, "reproducers") is { } repros)
        {
            foreach (var p in repros.EnumerateObject())
            {
                if (p.Value.ValueKind != JsonValueKind.String)
                {
                    continue;
                }
                ReproducerKind kind;
                try
                {
                    kind = EnumText.Parse<ReproducerKind>(p.Name);
                }
                catch (FormatException ex)
                {
                    throw new BugImportException($"{bugJsonPath}: reproducer kind \"{p.Name}\" is not c or syz", ex);
                }
                reproducers.Add(new ReproducerDocument { Kind = kind, Text = ReadNamed(folder, p.Value.GetString()!, bugJsonPath) });
            }
        }
        if (reproducers.Count == 0)
        {
            throw new BugImportException($"{bugJsonPath}: needs \"reproducers\" with a \"c\" or \"syz\" file");
        }

        var fixCommits = new List<FixCommitDocument>();
        DeveloperPatchDocument? developerPatch = null;
        if (Obj(root, "fix") is { } fix)
        {
            var patchFile = Str(fix, "patch") ?? throw new BugImportException($"{bugJsonPath}: \"fix\" needs \"patch\"");
            var patchText = ReadNamed(folder, patchFile, bugJsonPath);
            var fixTitle = Str(fix, "title");
            var hash = Str(fix, "upstreamHash");
            var author = Str(fix, "author");
            DateTime? fixDate = Str(fix, "date") is { } ds && DateTime.TryParse(ds, System.Globalization.CultureInfo.InvariantCulture, System.Globalization.DateTimeStyles.AdjustToUniversal | System.Globalization.DateTimeStyles.AssumeUniversal, out var parsed) ? parsed : null;
            fixCommits.Add(new FixCommitDocument { Title = fixTitle, Hash = hash, AuthorName = AuthorName(author), Author = AuthorEmail(author), Date = fixDate });
            developerPatch = new DeveloperPatchDocument
            {
                Status = DeveloperPatchStatus.Available,
                CommitHash = hash,
                Message = fixTitle,
                Author = author,
                FixedTime = fixDate,
                AddedTime = addedTime,
                Patch = patchText,
            };
        }

        return new BugDocument
        {
            Id = id,
            Extid = extid,
            SyzbotId = syzbotId,
            Title = title,
            Status = status,
            Source = BugSource.Bundle,
            BundleKey = key,
            Link = syzbot is { } s3 ? Str(s3, "link") : null,
            CrashTitle = Str(root, "crashTitle") ?? title,
            AltTitles = AltTitles.Collect(Str(root, "crashTitle") ?? title, [title], null, StrArray(root, "altTitles", bugJsonPath)),
            KernelSourceGit = kernel is { } k1 ? Str(k1, "source") : null,
            KernelBase = kernel is { } k2 ? KernelBase(k2) : null,
            KernelConfig = full,
            ConfigBase = configBase,
            ConfigFragment = fragment,
            Architecture = ConfigArchitecture(full) ?? "x86_64",
            AddedTime = addedTime,
            MetadataJson = bugJsonText,
            FixCommits = fixCommits,
            Reproducers = reproducers,
            DeveloperPatch = developerPatch,
        };
    }

    /// <summary>The architecture named on a kernel config's header line (<c># Linux/x86_64 6.1.192 Kernel Configuration</c>), or null.</summary>
    public static string? ConfigArchitecture(string? configText)
    {
        if (configText is null)
        {
            return null;
        }
        using var reader = new StringReader(configText);
        for (var i = 0; i < 10 && reader.ReadLine() is { } line; i++)
        {
            var at = line.IndexOf("# Linux/", StringComparison.Ordinal);
            if (at >= 0)
            {
                var rest = line[(at + 8)..];
                var end = rest.IndexOf(' ');
                var arch = end < 0 ? rest : rest[..end];
                // tinyconfig-based configs say "Linux/x86" even when CONFIG_X86_64=y is set.
                return arch == "x86" && configText.Contains("\nCONFIG_X86_64=y", StringComparison.Ordinal) ? "x86_64" : arch;
            }
        }
        return null;
    }

    private static string KernelBase(JsonElement kernel)
    {
        var version = Str(kernel, "version");
        var source = Str(kernel, "source");
        var name = source is not null && source.Contains("linux-source-6.1", StringComparison.Ordinal) ? "Debian linux-source-6.1" : source;
        return version is null ? name ?? "" : $"{name} {version}".Trim();
    }

    private static string? AuthorName(string? author)
    {
        if (author is null)
        {
            return null;
        }
        var lt = author.IndexOf('<');
        return lt > 0 ? author[..lt].Trim() : author;
    }

    private static string? AuthorEmail(string? author)
    {
        if (author is null)
        {
            return null;
        }
        var lt = author.IndexOf('<');
        var gt = author.IndexOf('>');
        return lt >= 0 && gt > lt ? author[(lt + 1)..gt] : null;
    }

    private static string ReadNamed(string folder, string name, string bugJsonPath)
    {
        if (Path.IsPathRooted(name) || name.Split('/', '\\').Contains(".."))
        {
            throw new BugImportException($"{bugJsonPath}: file name \"{name}\" must stay inside the bundle folder");
        }
        var path = Path.Combine(folder, name);
        if (!File.Exists(path))
        {
            throw new BugImportException($"{path}: missing (named in {bugJsonPath})");
        }
        return ReadText(path);
    }

    private static string ReadText(string path)
    {
        try
        {
            return File.ReadAllText(path);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            throw new BugImportException($"{path}: cannot read: {ex.Message}", ex);
        }
    }

    private static string? Str(JsonElement e, string name)
        => e.ValueKind == JsonValueKind.Object && e.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.String ? v.GetString() : null;

    // An optional array of strings; anything else under that name is an error.
    private static List<string> StrArray(JsonElement e, string name, string path)
    {
        if (e.ValueKind != JsonValueKind.Object || !e.TryGetProperty(name, out var v) || v.ValueKind == JsonValueKind.Null)
        {
            return [];
        }
        if (v.ValueKind != JsonValueKind.Array || v.EnumerateArray().Any(x => x.ValueKind != JsonValueKind.String))
        {
            throw new BugImportException($"{path}: \"{name}\" must be an array of strings");
        }
        return [.. v.EnumerateArray().Select(x => x.GetString()!)];
    }

    private static JsonElement? Obj(JsonElement e, string name)
        => e.ValueKind == JsonValueKind.Object && e.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.Object ? v : null;
}
