using System.Globalization;
using System.Reflection;
using System.Text.Json;

namespace LowLatencyRisk.Engine.Configuration;

/// <summary>
/// Checks a JSON document against the shape of the type it will be read into, before the
/// serializer sees it, and reports every problem at once: duplicate keys (which the serializer
/// would let the last one win), unknown fields (with the known ones), values of the wrong kind,
/// numbers out of an integer's range or with a fraction, enum names not among the allowed ones (all
/// listed). The serializer stops at the first problem; a user fixing a file wants them all.
/// </summary>
/// <remarks>
/// Properties are matched by their camelCase names; the types understood are the ones the
/// configuration and the margin input use: numbers, integers, booleans, strings, enums (by
/// camelCase name), arrays and lists of those or of objects, and nested objects.
/// </remarks>
public static class JsonShape
{
    /// <summary>Options for reading configuration-like files: comments and trailing commas allowed.</summary>
    public static JsonDocumentOptions DocumentOptions { get; } = new() { CommentHandling = JsonCommentHandling.Skip, AllowTrailingCommas = true };

    /// <summary>Every problem of <paramref name="json"/> read as <typeparamref name="T"/>, each as "json.path: what is wrong"; empty when it fits.</summary>
    public static List<string> Check<T>(string json) => Check(json, typeof(T));

    /// <summary>As <see cref="Check{T}(string)"/> for a runtime type.</summary>
    public static List<string> Check(string json, Type type)
    {
        ArgumentNullException.ThrowIfNull(type);
        var errors = new List<string>();
        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(json, DocumentOptions);
        }
        catch (JsonException e)
        {
            errors.Add(SyntaxError(e));
            return errors;
        }

        using (document)
        {
            if (document.RootElement.ValueKind == JsonValueKind.Null)
            {
                errors.Add("$: the file holds null, not an object");
            }
            else
            {
                new Walker(errors).Walk(document.RootElement, type);
            }
        }

        return errors;
    }

    /// <summary>A syntax error as "$: message (line L, byte B)" with 1-based positions.</summary>
    public static string SyntaxError(JsonException e)
    {
        ArgumentNullException.ThrowIfNull(e);
        string message = e.Message;
        int cut = message.IndexOf(" Path:", StringComparison.Ordinal);
        message = cut > 0 ? message[..cut] : message;
        int line = message.IndexOf(" LineNumber:", StringComparison.Ordinal);
        message = line > 0 ? message[..line] : message;
        return string.Create(CultureInfo.InvariantCulture, $"$: not valid JSON: {message.TrimEnd(' ', '|')} (line {(e.LineNumber ?? 0) + 1}, byte {(e.BytePositionInLine ?? 0) + 1})");
    }

    /// <summary>
    /// The walk keeps the path as a stack of segments and renders it only for a problem (a valid
    /// document, the common case, builds no path string), and finds repeated keys by a scan of the
    /// object's own names (objects here have a handful of fields) instead of a set per object.
    /// </summary>
    private sealed class Walker(List<string> errors)
    {
        private readonly List<(string? Name, int Index)> _path = [];
        private readonly List<string> _names = [];

        private string Path
        {
            get
            {
                var b = new System.Text.StringBuilder("$");
                foreach (var (name, index) in _path)
                {
                    if (name is null)
                    {
                        b.Append('[').Append(index.ToString(CultureInfo.InvariantCulture)).Append(']');
                    }
                    else
                    {
                        b.Append('.').Append(name);
                    }
                }

                return b.ToString();
            }
        }

        public void Walk(JsonElement element, Type type)
        {
            type = Nullable.GetUnderlyingType(type) ?? type;
            if (type == typeof(double) || type == typeof(float))
            {
                if (Expect(element, JsonValueKind.Number, "a number") && !(element.TryGetDouble(out double d) && double.IsFinite(d)))
                {
                    errors.Add($"{Path}: {Truncate(element.GetRawText())} is beyond the range of a double");
                }
            }
            else if (type == typeof(int) || type == typeof(long) || type == typeof(uint) || type == typeof(short) || type == typeof(byte))
            {
                if (Expect(element, JsonValueKind.Number, "a whole number"))
                {
                    bool fits = type == typeof(int) ? element.TryGetInt32(out _)
                        : type == typeof(long) ? element.TryGetInt64(out _)
                        : type == typeof(uint) ? element.TryGetUInt32(out _)
                        : type == typeof(short) ? element.TryGetInt16(out _)
                        : element.TryGetByte(out _);
                    if (!fits)
                    {
                        errors.Add($"{Path}: {element.GetRawText()} is not a whole number that fits a {type.Name} (no fraction or exponent)");
                    }
                }
            }
            else if (type == typeof(bool))
            {
                if (element.ValueKind is not (JsonValueKind.True or JsonValueKind.False))
                {
                    errors.Add($"{Path}: expected true or false, found {Describe(element)}");
                }
            }
            else if (type == typeof(string))
            {
                Expect(element, JsonValueKind.String, "a string");
            }
            else if (type.IsEnum)
            {
                var (names, allowed) = EnumNames.GetOrAdd(type, t =>
                {
                    var camel = Enum.GetNames(t).Select(JsonNamingPolicy.CamelCase.ConvertName).ToArray();
                    return (camel.ToHashSet(StringComparer.Ordinal), string.Join(", ", camel));
                });
                if (element.ValueKind != JsonValueKind.String)
                {
                    errors.Add($"{Path}: expected one of {allowed}, found {Describe(element)}");
                }
                else if (!names.Contains(element.GetString()!))
                {
                    errors.Add($"{Path}: '{element.GetString()}' is not one of {allowed}");
                }
            }
            else if (ElementTypes.GetOrAdd(type, ElementType) is { } item)
            {
                if (Expect(element, JsonValueKind.Array, "an array"))
                {
                    int i = 0;
                    foreach (var e in element.EnumerateArray())
                    {
                        _path.Add((null, i++));
                        Walk(e, item);
                        _path.RemoveAt(_path.Count - 1);
                    }
                }
            }
            else if (Expect(element, JsonValueKind.Object, "an object"))
            {
                var properties = Properties.GetOrAdd(type, t => t.GetProperties(BindingFlags.Public | BindingFlags.Instance)
                    .Where(p => p.SetMethod is not null)
                    .ToDictionary(p => JsonNamingPolicy.CamelCase.ConvertName(p.Name), StringComparer.Ordinal));
                int first = _names.Count;
                foreach (var property in element.EnumerateObject())
                {
                    string name = property.Name;
                    _path.Add((name, 0));
                    if (Seen(name, first))
                    {
                        errors.Add($"{Path}: the field is given twice (a repeated key would silently replace the first)");
                    }
                    else if (!properties.TryGetValue(name, out var target))
                    {
                        _names.Add(name);
                        errors.Add($"{Path}: unknown field '{name}' (known here: {string.Join(", ", properties.Keys.Order(StringComparer.Ordinal))})");
                    }
                    else
                    {
                        _names.Add(name);

                        // null where the type allows it is skipped: the validation after parsing decides whether it may be missing
                        if (property.Value.ValueKind != JsonValueKind.Null || (Nullable.GetUnderlyingType(target.PropertyType) is null && target.PropertyType.IsValueType))
                        {
                            Walk(property.Value, target.PropertyType);
                        }
                    }

                    _path.RemoveAt(_path.Count - 1);
                }

                _names.RemoveRange(first, _names.Count - first);
            }
        }

        private bool Seen(string name, int first)
        {
            for (int i = first; i < _names.Count; i++)
            {
                if (string.Equals(_names[i], name, StringComparison.Ordinal))
                {
                    return true;
                }
            }

            return false;
        }

        private bool Expect(JsonElement element, JsonValueKind kind, string what)
        {
            if (element.ValueKind == kind)
            {
                return true;
            }

            errors.Add($"{Path}: expected {what}, found {Describe(element)}");
            return false;
        }
    }

    // Reflection once per type, not once per element: a portfolio of thousands of positions walks the same few types.
    private static readonly System.Collections.Concurrent.ConcurrentDictionary<Type, Dictionary<string, PropertyInfo>> Properties = new();
    private static readonly System.Collections.Concurrent.ConcurrentDictionary<Type, (HashSet<string> Names, string Allowed)> EnumNames = new();
    private static readonly System.Collections.Concurrent.ConcurrentDictionary<Type, Type?> ElementTypes = new();

    private static Type? ElementType(Type type)
    {
        if (type.IsArray)
        {
            return type.GetElementType();
        }

        if (type.IsGenericType && type.GetGenericTypeDefinition() is var d && (d == typeof(List<>) || d == typeof(IReadOnlyList<>) || d == typeof(IList<>)))
        {
            return type.GetGenericArguments()[0];
        }

        return null;
    }

    private static string Describe(JsonElement element) => element.ValueKind switch
    {
        JsonValueKind.String => $"the string \"{Truncate(element.GetString() ?? "")}\"",
        JsonValueKind.Number => $"the number {Truncate(element.GetRawText())}",
        JsonValueKind.True or JsonValueKind.False => element.GetRawText(),
        JsonValueKind.Null => "null",
        JsonValueKind.Array => "an array",
        JsonValueKind.Object => "an object",
        _ => element.ValueKind.ToString(),
    };

    private static string Truncate(string text) => text.Length <= 40 ? text : text[..40] + "…";
}
