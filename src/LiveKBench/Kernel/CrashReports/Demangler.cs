namespace LiveKBench.Kernel.CrashReports;

/// <summary>Minimal symbol demangling (Itanium "_Z" and Rust v0 "_R" names, no parameters); returns the input on failure.</summary>
internal static class Demangler
{
    public static string Filter(string name)
    {
        if (name.Length < 3 || name[0] != '_' || (name[1] != 'Z' && name[1] != 'R'))
        {
            return name;
        }
        try
        {
            return name[1] == 'Z' ? Itanium(name) ?? name : name;
        }
        catch (ArgumentException)
        {
            return name;
        }
    }

    // _Z<len><name>... or _ZN<len><name><len><name>...E...
    private static string? Itanium(string s)
    {
        var i = 2;
        var nested = i < s.Length && s[i] == 'N';
        if (nested)
        {
            i++;
        }
        var parts = new List<string>();
        while (i < s.Length && char.IsAsciiDigit(s[i]))
        {
            var n = 0;
            while (i < s.Length && char.IsAsciiDigit(s[i]))
            {
                n = (n * 10) + (s[i] - '0');
                i++;
                if (n > s.Length)
                {
                    return null;
                }
            }
            if (i + n > s.Length)
            {
                return null;
            }
            parts.Add(s.Substring(i, n));
            i += n;
            if (!nested)
            {
                break;
            }
        }
        return parts.Count == 0 ? null : string.Join("::", parts);
    }
}
