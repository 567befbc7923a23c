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
                Walk(document.RootElement, type, "$", errors);
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

    private static void Walk(JsonElement element, Type type, string path, List<string> errors)
    {
        type = Nullable.GetUnderlyingType(type) ?? type;
        if (type == typeof(double) || type == typeof(float))
        {
            if (Expect(element, JsonValueKind.Number, "a number", path, errors) && !(element.TryGetDouble(out double d) && double.IsFinite(d)))
            {
                errors.Add($"{path}: {Truncate(element.GetRawText())} is beyond the range of a double");
            }
        }
        else if (type == typeof(int) || type == typeof(long) || type == typeof(uint) || type == typeof(short) || type == typeof(byte))
        {
            if (Expect(element, JsonValueKind.Number, "a whole number", path, errors))
            {
                bool fits = type == typeof(int) ? element.TryGetInt32(out _)
                    : type == typeof(long) ? element.TryGetInt64(out _)
                    : type == typeof(uint) ? element.TryGetUInt32(out _)
                    : type == typeof(short) ? element.TryGetInt16(out _)
                    : element.TryGetByte(out _);
                if (!fits)
                {
                    errors.Add($"{path}: {element.GetRawText()} is not a whole number that fits a {type.Name} (no fraction or exponent)");
                }
            }
        }
        else if (type == typeof(bool))
        {
            if (element.ValueKind is not (JsonValueKind.True or JsonValueKind.False))
            {
                errors.Add($"{path}: expected true or false, found {Describe(element)}");
            }
        }
        else if (type == typeof(string))
        {
            Expect(element, JsonValueKind.String, "a string", path, errors);
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
                errors.Add($"{path}: expected one of {allowed}, found {Describe(element)}");
            }
            else if (!names.Contains(element.GetString()!))
            {
                errors.Add($"{path}: '{element.GetString()}' is not one of {allowed}");
            }
        }
        else if (ElementType(type) is { } item)
        {
            if (Expect(element, JsonValueKind.Array, "an array", path, errors))
            {
                int i = 0;
                foreach (var e in element.EnumerateArray())
                {
                    Walk(e, item, string.Create(CultureInfo.InvariantCulture, $"{path}[{i++}]"), errors);
                }
            }
        }
        else if (Expect(element, JsonValueKind.Object, "an object", path, errors))
        {
            var properties = Properties.GetOrAdd(type, t => t.GetProperties(BindingFlags.Public | BindingFlags.Instance)
                .Where(p => p.SetMethod is not null)
                .ToDictionary(p => JsonNamingPolicy.CamelCase.ConvertName(p.Name), StringComparer.Ordinal));
            var seen = new HashSet<string>(StringComparer.Ordinal);
            foreach (var property in element.EnumerateObject())
            {
                string at = path + "." + property.Name;
                if (!seen.Add(property.Name))
                {
                    errors.Add($"{at}: the field is given twice (a repeated key would silently replace the first)");
                    continue;
                }

                if (!properties.TryGetValue(property.Name, out var target))
                {
                    errors.Add($"{at}: unknown field '{property.Name}' (known here: {string.Join(", ", properties.Keys.Order(StringComparer.Ordinal))})");
                    continue;
                }

                if (property.Value.ValueKind == JsonValueKind.Null && (Nullable.GetUnderlyingType(target.PropertyType) is not null || !target.PropertyType.IsValueType))
                {
                    continue; // null where the type allows it; the validation after parsing decides whether it may be missing
                }

                Walk(property.Value, target.PropertyType, at, errors);
            }
        }
    }

    // Reflection once per type, not once per element: a portfolio of thousands of positions walks the same few types.
    private static readonly System.Collections.Concurrent.ConcurrentDictionary<Type, Dictionary<string, PropertyInfo>> Properties = new();
    private static readonly System.Collections.Concurrent.ConcurrentDictionary<Type, (HashSet<string> Names, string Allowed)> EnumNames = new();

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

    private static bool Expect(JsonElement element, JsonValueKind kind, string what, string path, List<string> errors)
    {
        if (element.ValueKind == kind)
        {
            return true;
        }

        errors.Add($"{path}: expected {what}, found {Describe(element)}");
        return false;
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
