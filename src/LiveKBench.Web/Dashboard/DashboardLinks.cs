using System.Security.Cryptography;
using System.Text;

namespace LiveKBench.Web.Dashboard;

/// <summary>
/// Where the dashboard's links point: server routes (<c>/bugs/ID</c>) or, for <c>kbench report html</c>, files of
/// the static site relative to the current page (<c>../bugs/ID.html</c>).
/// </summary>
public sealed class DashboardLinks
{
    private readonly string _prefix;

    private DashboardLinks(bool isStatic, string prefix)
    {
        IsStatic = isStatic;
        _prefix = prefix;
    }

    /// <summary>True for the static site (no server: no query strings, no forms).</summary>
    public bool IsStatic { get; }

    /// <summary>Links for the server.</summary>
    public static DashboardLinks Server { get; } = new(false, "/");

    /// <summary>Links for a static page whose file is <paramref name="relativeFile"/> (e.g. <c>bugs/x.html</c>) below the site root.</summary>
    public static DashboardLinks StaticPage(string relativeFile)
    {
        var depth = relativeFile.Count(c => c == '/');
        return new DashboardLinks(true, string.Concat(Enumerable.Repeat("../", depth)));
    }

    /// <summary>A top-level page: leaderboard, bugs, datasets, research, gym, or "" for the start page.</summary>
    public string Page(string name) => IsStatic ? _prefix + (name.Length == 0 ? "index" : name) + ".html" : _prefix + name;

    /// <summary>The page of bug <paramref name="id"/>, optionally at an anchor (e.g. <c>run-12</c>).</summary>
    public string Bug(string id, string? fragment = null) => Item("bugs", id, fragment);

    /// <summary>The page of agent configuration <paramref name="name"/>.</summary>
    public string Config(string name) => Item("configs", name, null);

    /// <summary>The page of dataset <paramref name="name"/>.</summary>
    public string Dataset(string name) => Item("datasets", name, null);

    /// <summary>The Hugging Face export (zip of <c>kbench dataset export</c>'s folder) of dataset <paramref name="name"/>.</summary>
    public string DatasetExport(string name)
        => IsStatic ? _prefix + DatasetExportFile(name) : _prefix + "datasets/" + Uri.EscapeDataString(name) + "/export.zip";

    /// <summary>A file served from the dashboard's assets (CSS, JavaScript).</summary>
    public string Asset(string file) => _prefix + "assets/" + file;

    /// <summary>Static-site file of an item page: <c>KIND/SEGMENT.html</c>.</summary>
    public static string ItemFile(string kind, string key) => kind + "/" + FileSegment(key) + ".html";

    /// <summary>Static-site file of a dataset's export zip.</summary>
    public static string DatasetExportFile(string name) => "datasets/" + FileSegment(name) + "-hf-export.zip";

    /// <summary>
    /// A file-name-safe form of <paramref name="key"/>: ASCII letters, digits, '.', '-' and '_' are kept, anything
    /// else becomes '_' and a short hash of the key is appended so different keys never share a file.
    /// </summary>
    public static string FileSegment(string key)
    {
        var sb = new StringBuilder(key.Length);
        var changed = key.Length == 0 || key[0] == '.';
        foreach (var ch in key)
        {
            if (char.IsAsciiLetterOrDigit(ch) || ch is '.' or '-' or '_')
            {
                sb.Append(ch);
            }
            else
            {
                sb.Append('_');
                changed = true;
            }
        }
        if (sb.Length > 100)
        {
            sb.Length = 100;
            changed = true;
        }
        if (changed)
        {
            sb.Append('-').Append(Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(key)))[..10]);
        }
        return sb.ToString();
    }

    private string Item(string kind, string key, string? fragment)
    {
        var href = IsStatic ? _prefix + ItemFile(kind, key) : _prefix + kind + "/" + Uri.EscapeDataString(key);
        return fragment is null ? href : href + "#" + Uri.EscapeDataString(fragment);
    }
}
