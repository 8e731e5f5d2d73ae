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
            return name[1] == 'Z' ? Itanium(name) ?? name : RustV0.Demangle(name) ?? name;
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

    /// <summary>Rust v0 mangling ("_R..."), printed without hashes and generic arguments.</summary>
    private sealed class RustV0
    {
        private const int MaxDepth = 64;
        private readonly string _s;
        private readonly System.Text.StringBuilder _out = new();
        private int _pos;
        private int _depth;

        private RustV0(string s, int pos)
        {
            _s = s;
            _pos = pos;
        }

        public static string? Demangle(string name)
        {
            var d = new RustV0(name, 2);
            if (d._pos < name.Length && char.IsAsciiDigit(name[d._pos]))
            {
                // Encoding version: not used.
                d.Decimal();
            }
            try
            {
                d.Path();
            }
            catch (Exception e) when (e is FormatException or OverflowException or InvalidCastException)
            {
                return null;
            }
            return d._out.Length == 0 ? null : d._out.ToString();
        }

        private char Peek() => _pos < _s.Length ? _s[_pos] : '\0';

        private char Next() => _pos < _s.Length ? _s[_pos++] : throw new FormatException("truncated");

        private bool Eat(char c)
        {
            if (Peek() != c)
            {
                return false;
            }
            _pos++;
            return true;
        }

        private int Decimal()
        {
            var n = 0;
            if (!char.IsAsciiDigit(Peek()))
            {
                throw new FormatException("digit");
            }
            while (char.IsAsciiDigit(Peek()))
            {
                n = checked((n * 10) + (Next() - '0'));
            }
            return n;
        }

        /// <summary>A base-62 number; disambiguators are 64-bit hashes, so the value wraps instead of overflowing.</summary>
        private ulong Base62()
        {
            if (Eat('_'))
            {
                return 0;
            }
            ulong n = 0;
            while (true)
            {
                var c = Next();
                if (c == '_')
                {
                    return unchecked(n + 1);
                }
                var v = c switch
                {
                    >= '0' and <= '9' => (ulong)(c - '0'),
                    >= 'a' and <= 'z' => (ulong)(c - 'a' + 10),
                    >= 'A' and <= 'Z' => (ulong)(c - 'A' + 36),
                    _ => throw new FormatException("base62"),
                };
                n = unchecked((n * 62) + v);
            }
        }

        private void Disambiguator()
        {
            if (Eat('s'))
            {
                Base62();
            }
        }

        private string Identifier()
        {
            Disambiguator();
            var punycode = Eat('u');
            var len = Decimal();
            Eat('_');
            if (len > _s.Length - _pos)
            {
                throw new FormatException("identifier");
            }
            var id = _s.Substring(_pos, len);
            _pos += len;
            return punycode ? "{punycode}" + id : id;
        }

        private void Enter()
        {
            if (++_depth > MaxDepth)
            {
                throw new FormatException("depth");
            }
        }

        /// <summary>Follows a backreference: runs <paramref name="print"/> at the target and restores the cursor.</summary>
        private void BackRef(Action print)
        {
            var start = _pos - 1;
            var target = Base62();
            if (target >= (ulong)start - 2)
            {
                throw new FormatException("backref");
            }
            var saved = _pos;
            _pos = (int)target + 2;
            print();
            _pos = saved;
        }

        private void Path()
        {
            Enter();
            switch (Next())
            {
                case 'C':
                    _out.Append(Identifier());
                    break;
                case 'M':
                    Disambiguator();
                    Skip(Path);
                    _out.Append('<');
                    Type();
                    _out.Append('>');
                    break;
                case 'X':
                    Disambiguator();
                    Skip(Path);
                    _out.Append('<');
                    Type();
                    _out.Append(" as ");
                    Path();
                    _out.Append('>');
                    break;
                case 'Y':
                    _out.Append('<');
                    Type();
                    _out.Append(" as ");
                    Path();
                    _out.Append('>');
                    break;
                case 'N':
                    var ns = Next();
                    Path();
                    var id = Identifier();
                    if (char.IsAsciiLetterUpper(ns))
                    {
                        _out.Append("::{").Append(ns == 'C' ? "closure" : ns == 'S' ? "shim" : ns.ToString()).Append(id.Length > 0 ? ":" + id : "").Append('}');
                    }
                    else if (id.Length > 0)
                    {
                        _out.Append("::").Append(id);
                    }
                    break;
                case 'I':
                    Path();
                    Skip(GenericArgs);
                    break;
                case 'B':
                    BackRef(Path);
                    break;
                default:
                    throw new FormatException("path");
            }
            _depth--;
        }

        /// <summary>Parses without printing.</summary>
        private void Skip(Action parse)
        {
            var len = _out.Length;
            parse();
            _out.Length = len;
        }

        private void GenericArgs()
        {
            while (!Eat('E'))
            {
                if (Eat('L'))
                {
                    Base62();
                }
                else if (Eat('K'))
                {
                    Const();
                }
                else
                {
                    Type();
                }
            }
        }

        private void Const()
        {
            Enter();
            if (Eat('p'))
            {
                _out.Append('_');
            }
            else if (Eat('B'))
            {
                BackRef(Const);
            }
            else
            {
                Type();
                Eat('n');
                while (Next() != '_')
                {
                }
            }
            _depth--;
        }

        private static string? Basic(char c) => c switch
        {
            'a' => "i8",
            'b' => "bool",
            'c' => "char",
            'd' => "f64",
            'e' => "str",
            'f' => "f32",
            'h' => "u8",
            'i' => "isize",
            'j' => "usize",
            'l' => "i32",
            'm' => "u32",
            'n' => "i128",
            'o' => "u128",
            's' => "i16",
            't' => "u16",
            'u' => "()",
            'v' => "...",
            'x' => "i64",
            'y' => "u64",
            'z' => "!",
            'p' => "_",
            _ => null,
        };

        private void Type()
        {
            Enter();
            var c = Next();
            if (Basic(c) is { } basic)
            {
                _out.Append(basic);
                _depth--;
                return;
            }
            switch (c)
            {
                case 'A':
                    _out.Append('[');
                    Type();
                    _out.Append("; ");
                    Const();
                    _out.Append(']');
                    break;
                case 'S':
                    _out.Append('[');
                    Type();
                    _out.Append(']');
                    break;
                case 'T':
                    _out.Append('(');
                    for (var first = true; !Eat('E'); first = false)
                    {
                        _out.Append(first ? "" : ", ");
                        Type();
                    }
                    _out.Append(')');
                    break;
                case 'R' or 'Q':
                    _out.Append(c == 'R' ? "&" : "&mut ");
                    if (Eat('L'))
                    {
                        Base62();
                    }
                    Type();
                    break;
                case 'P' or 'O':
                    _out.Append(c == 'P' ? "*const " : "*mut ");
                    Type();
                    break;
                case 'F':
                    _out.Append("fn");
                    Skip(FnSig);
                    break;
                case 'D':
                    _out.Append("dyn ");
                    Skip(DynBounds);
                    break;
                case 'B':
                    BackRef(Type);
                    break;
                default:
                    _pos--;
                    Path();
                    break;
            }
            _depth--;
        }

        private void FnSig()
        {
            if (Eat('G'))
            {
                Base62();
            }
            Eat('U');
            if (Eat('K'))
            {
                if (!Eat('C'))
                {
                    Identifier();
                }
            }
            while (!Eat('E'))
            {
                Type();
            }
            Type();
        }

        private void DynBounds()
        {
            if (Eat('G'))
            {
                Base62();
            }
            while (!Eat('E'))
            {
                Path();
                while (Eat('p'))
                {
                    Identifier();
                    Type();
                }
            }
            if (Eat('L'))
            {
                Base62();
            }
        }
    }
}
