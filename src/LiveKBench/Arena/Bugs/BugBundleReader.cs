using System.Text.Json;
using LiveKBench.Arena.Store;
using LiveKBench.Infrastructure;
using LiveKBench.Kernel.CrashReports;

namespace LiveKBench.Arena.Bugs;

/// <summary>A bug bundle or export file is malformed; the message names the file (and line) at fault.</summary>
public sealed class BugImportException(string message, Exception? inner = null) : Exception(message, inner);

/// <summary>
/// Reads bug bundles: folders in the layout of shared/data/realbugs (schema <c>livekbench-bug-bundle/1</c>):
/// <c>bug.json</c> plus the files it names (reproducers, fix patch, config fragment and/or full config).
/// Every file is opened safely: regular files only, no symbolic link anywhere below the bundle folder, a bounded
/// read with the size limit of its field (<see cref="InputLimits"/>), strict UTF-8 (invalid bytes are refused,
/// never replaced). A field of bug.json with the wrong JSON type is refused with its name, never ignored.
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
            bugJsonText = ReadText(bugJsonPath, InputLimits.BugJsonBytes);
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
        var title = Str(root, "title", bugJsonPath) ?? throw new BugImportException($"{bugJsonPath}: missing \"title\"");
        var statusText = Str(root, "status", bugJsonPath) ?? "fixed";
        BugStatus status;
        try
        {
            status = EnumText.Parse<BugStatus>(statusText);
        }
        catch (FormatException ex)
        {
            throw new BugImportException($"{bugJsonPath}: \"status\": {ex.Message}", ex);
        }
        var syzbot = Obj(root, "syzbot", bugJsonPath);
        var extid = syzbot is { } s1 ? Str(s1, "extid", bugJsonPath, "syzbot.") : null;
        var syzbotId = syzbot is { } s2 ? Str(s2, "id", bugJsonPath, "syzbot.") : null;
        var key = Path.GetFileName(folder.TrimEnd('/'));
        // Our own samples are not syzbot bugs: they carry a top-level "id" instead.
        var id = extid ?? syzbotId ?? Str(root, "id", bugJsonPath) ?? throw new BugImportException($"{bugJsonPath}: needs \"syzbot\": {{\"extid\"}} or {{\"id\"}}, or a top-level \"id\"");

        var kernel = Obj(root, "kernel", bugJsonPath);
        var config = Obj(root, "config", bugJsonPath);
        string? fragment = null, full = null, configBase = null;
        if (config is { } c)
        {
            configBase = Str(c, "base", bugJsonPath, "config.");
            if (Str(c, "fragment", bugJsonPath, "config.") is { } fragFile)
            {
                fragment = ReadNamed(folder, fragFile, bugJsonPath, InputLimits.ConfigFragmentBytes);
            }
            if (Str(c, "full", bugJsonPath, "config.") is { } fullFile)
            {
                full = ReadNamed(folder, fullFile, bugJsonPath, InputLimits.KernelConfigBytes);
            }
        }
        if (fragment is null && full is null)
        {
            throw new BugImportException($"{bugJsonPath}: needs \"config\" with a \"fragment\" or \"full\" file");
        }

        var reproducers = new List<ReproducerDocument>();
        if (Obj(root, "reproducers", bugJsonPath) is { } repros)
        {
            foreach (var p in repros.EnumerateObject())
            {
                if (p.Value.ValueKind == JsonValueKind.Null)
                {
                    continue;
                }
                if (p.Value.ValueKind != JsonValueKind.String)
                {
                    throw new BugImportException($"{bugJsonPath}: \"reproducers.{p.Name}\" must be a file name (a JSON string), not {Describe(p.Value.ValueKind)}");
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
                reproducers.Add(new ReproducerDocument { Kind = kind, Text = ReadNamed(folder, p.Value.GetString()!, bugJsonPath, InputLimits.ReproducerBytes) });
            }
        }
        if (reproducers.Count == 0)
        {
            throw new BugImportException($"{bugJsonPath}: needs \"reproducers\" with a \"c\" or \"syz\" file");
        }

        var fixCommits = new List<FixCommitDocument>();
        DeveloperPatchDocument? developerPatch = null;
        if (Obj(root, "fix", bugJsonPath) is { } fix)
        {
            var patchFile = Str(fix, "patch", bugJsonPath, "fix.") ?? throw new BugImportException($"{bugJsonPath}: \"fix\" needs \"patch\"");
            var patchText = ReadNamed(folder, patchFile, bugJsonPath, InputLimits.PatchBytes);
            var fixTitle = Str(fix, "title", bugJsonPath, "fix.");
            var hash = Str(fix, "upstreamHash", bugJsonPath, "fix.");
            var author = Str(fix, "author", bugJsonPath, "fix.");
            DateTime? fixDate = Str(fix, "date", bugJsonPath, "fix.") is { } ds && DateTime.TryParse(ds, System.Globalization.CultureInfo.InvariantCulture, System.Globalization.DateTimeStyles.AdjustToUniversal | System.Globalization.DateTimeStyles.AssumeUniversal, out var parsed) ? parsed : null;
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

        var crashTitle = Str(root, "crashTitle", bugJsonPath) ?? title;
        var altTitles = AltTitles.Collect(crashTitle, [title], null, StrArray(root, "altTitles", bugJsonPath));
        return new BugDocument
        {
            Id = id,
            Extid = extid,
            SyzbotId = syzbotId,
            Title = title,
            Status = status,
            Source = BugSource.Bundle,
            BundleKey = key,
            Link = syzbot is { } s3 ? Str(s3, "link", bugJsonPath, "syzbot.") : null,
            CrashTitle = crashTitle,
            AltTitles = altTitles,
            CrashReport = CrashReportOf(root, folder, bugJsonPath, crashTitle, altTitles),
            Subsystems = SubsystemsOf(root, bugJsonPath),
            KernelSourceGit = kernel is { } k1 ? Str(k1, "source", bugJsonPath, "kernel.") : null,
            KernelBase = kernel is { } k2 ? KernelBase(k2, bugJsonPath) : null,
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

    /// <summary>
    /// The bug's crash report text, what an agent is given as the report: the file named by <c>"report"</c> as is, or else
    /// the first crash report in the console named by <c>"observed": {"buggyConsole"}</c>, cut out by the crash-report
    /// parser, when that crash is the bug's own (title or alt-title overlap, as syzbot merges); otherwise null.
    /// </summary>
    /// <exception cref="BugImportException">A named file is missing, outside the bundle, a link, or too large.</exception>
    private static string? CrashReportOf(JsonElement root, string folder, string bugJsonPath, string crashTitle, IEnumerable<string> altTitles)
    {
        if (Str(root, "report", bugJsonPath) is { } reportFile)
        {
            return ReadNamed(folder, reportFile, bugJsonPath, InputLimits.CrashReportBytes);
        }
        if (Obj(root, "observed", bugJsonPath) is not { } observed || Str(observed, "buggyConsole", bugJsonPath, "observed.") is not { } consoleFile)
        {
            return null;
        }
        byte[] console;
        try
        {
            // Bytes, as the VM runner keeps them: the parser reads raw console output (non-UTF-8 bytes included).
            console = SafeFile.ReadBytes(NamedPath(folder, consoleFile, bugJsonPath), InputLimits.ConsoleLogBytes);
        }
        catch (UnsafeInputException ex)
        {
            throw new BugImportException(ex.Message, ex);
        }
        var report = CrashReportParser.Parse(console);
        if (report is null || !CrashReportParser.IsSameCrash(report, crashTitle, altTitles))
        {
            return null;
        }
        var text = report.Text.Length > InputLimits.CrashReportBytes ? report.Text[..(int)InputLimits.CrashReportBytes] : report.Text;
        return text.TrimEnd() + "\n";
    }

    /// <summary>Subsystems from <c>"subsystems"</c> (array of strings) or <c>"subsystem"</c> (one string); empty when neither.</summary>
    private static List<string> SubsystemsOf(JsonElement root, string bugJsonPath)
    {
        if (StrArray(root, "subsystems", bugJsonPath) is { Count: > 0 } many)
        {
            return [.. many.Where(x => x.Length > 0).Distinct(StringComparer.Ordinal)];
        }
        return Str(root, "subsystem", bugJsonPath) is { Length: > 0 } one ? [one] : [];
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

    private static string KernelBase(JsonElement kernel, string bugJsonPath)
    {
        var version = Str(kernel, "version", bugJsonPath, "kernel.");
        var source = Str(kernel, "source", bugJsonPath, "kernel.");
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

    private static string ReadNamed(string folder, string name, string bugJsonPath, long maxBytes)
        => ReadText(NamedPath(folder, name, bugJsonPath), maxBytes);

    /// <summary>The path of a file the bundle names, checked to stay inside the bundle folder with no link on the way.</summary>
    /// <exception cref="BugImportException">The name leaves the folder, the file is missing, or a link is on the way.</exception>
    private static string NamedPath(string folder, string name, string bugJsonPath)
    {
        if (name.Length == 0 || Path.IsPathRooted(name) || name.Contains('\0') || name.Split('/', '\\').Any(seg => seg is ".." or "." or ""))
        {
            throw new BugImportException($"{bugJsonPath}: file name \"{name}\" must stay inside the bundle folder");
        }
        // No symbolic link anywhere between the bundle folder and the file: a link could lead outside the bundle.
        var parts = name.Split('/', '\\');
        var path = folder;
        for (var i = 0; i < parts.Length; i++)
        {
            path = Path.Combine(path, parts[i]);
            var kind = SafeFile.KindOf(path);
            if (kind == SafeFile.Kind.Missing)
            {
                throw new BugImportException($"{path}: missing (named in {bugJsonPath})");
            }
            if (kind == SafeFile.Kind.SymbolicLink)
            {
                throw new BugImportException($"{path}: is a symbolic link (named in {bugJsonPath}); bundle files must be regular files inside the bundle folder");
            }
        }
        return path;
    }

    private static string ReadText(string path, long maxBytes)
    {
        try
        {
            return SafeFile.ReadText(path, maxBytes);
        }
        catch (UnsafeInputException ex)
        {
            throw new BugImportException(ex.Message, ex);
        }
    }

    private static string Describe(JsonValueKind kind) => kind switch
    {
        JsonValueKind.Object => "an object",
        JsonValueKind.Array => "an array",
        JsonValueKind.Number => "a number",
        JsonValueKind.True or JsonValueKind.False => "a boolean",
        JsonValueKind.String => "a string",
        _ => "null",
    };

    /// <summary>A string field; null when absent or JSON null; any other JSON type is refused with the field's name.</summary>
    private static string? Str(JsonElement e, string name, string bugJsonPath, string prefix = "")
    {
        if (!e.TryGetProperty(name, out var v) || v.ValueKind == JsonValueKind.Null)
        {
            return null;
        }
        return v.ValueKind == JsonValueKind.String
            ? v.GetString()
            : throw new BugImportException($"{bugJsonPath}: \"{prefix}{name}\" must be a JSON string, not {Describe(v.ValueKind)}");
    }

    /// <summary>An object field; null when absent or JSON null; any other JSON type is refused with the field's name.</summary>
    private static JsonElement? Obj(JsonElement e, string name, string bugJsonPath)
    {
        if (!e.TryGetProperty(name, out var v) || v.ValueKind == JsonValueKind.Null)
        {
            return null;
        }
        return v.ValueKind == JsonValueKind.Object
            ? v
            : throw new BugImportException($"{bugJsonPath}: \"{name}\" must be a JSON object, not {Describe(v.ValueKind)}");
    }

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
}
