package dev.sluice.pipelines.spec;

import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import java.io.IOException;
import java.util.HashMap;
import java.util.Map;

/**
 * A YAML document as a Jackson tree, plus the line of every node, by path ({@code
 * windows[0].size}), so errors can say {@code iot.yaml:14: windows[0].size: ...}.
 */
public final class LocatedYaml {
  private static final YAMLFactory YAML = new YAMLFactory();

  private final String file;
  private final JsonNode root;
  private final Map<String, Integer> lines;

  private LocatedYaml(String file, JsonNode root, Map<String, Integer> lines) {
    this.file = file;
    this.root = root;
    this.lines = lines;
  }

  /**
   * Parses {@code text}; {@code file} is the name used in messages.
   *
   * @throws SpecException for YAML syntax errors and duplicate keys, with the line
   */
  public static LocatedYaml parse(String file, String text) {
    Map<String, Integer> lines = new HashMap<>();
    try (JsonParser parser = YAML.createParser(text)) {
      JsonToken first = parser.nextToken();
      if (first == null) {
        throw new SpecException(file, 1, "", "the file is empty; a pipeline spec is a YAML map");
      }
      JsonNode root = read(file, parser, "", lines);
      if (parser.nextToken() != null) {
        throw new SpecException(
            file, line(parser), "", "more than one YAML document; a spec is one document");
      }
      return new LocatedYaml(file, root, lines);
    } catch (IOException e) {
      int line =
          e instanceof com.fasterxml.jackson.core.JsonProcessingException jpe
                  && jpe.getLocation() != null
              ? jpe.getLocation().getLineNr()
              : 1;
      String message = e.getMessage() == null ? "unreadable" : e.getMessage().split("\n")[0];
      throw new SpecException(file, line, "", "not valid YAML: " + message);
    }
  }

  /**
   * Sets {@code path} ({@code source.path}, {@code windows[0].size}) to {@code value}, read as a
   * YAML scalar (so {@code 5} is a number, {@code 5m} a text); the parent must exist. For overrides
   * from the command line or a template parameter, applied before validation.
   */
  public void set(String path, String value) {
    int cut = Math.max(path.lastIndexOf('.'), path.lastIndexOf('['));
    String parentPath = cut < 0 ? "" : path.substring(0, cut);
    JsonNode parent = parentPath.isEmpty() ? root : find(parentPath);
    JsonNode scalar;
    try (JsonParser parser = YAML.createParser(value.isEmpty() ? "''" : value)) {
      parser.nextToken();
      scalar = read(file, parser, path, new HashMap<>());
    } catch (IOException | SpecException e) {
      scalar = JsonNodeFactory.instance.textNode(value);
    }
    if (scalar.isContainerNode()) {
      scalar = JsonNodeFactory.instance.textNode(value);
    }
    if (path.endsWith("]") && parent instanceof ArrayNode array) {
      int index = index(path, path.substring(cut + 1, path.length() - 1));
      if (index >= array.size()) {
        throw new SpecException(file, 0, path, "override: no such list item");
      }
      array.set(index, scalar);
    } else if (cut >= 0 && path.charAt(cut) == '.' || cut < 0) {
      if (!(parent instanceof ObjectNode object)) {
        throw new SpecException(file, 0, path, "override: " + parentPath + " is not a map");
      }
      object.set(path.substring(cut + 1), scalar);
    } else {
      throw new SpecException(file, 0, path, "override: not a path of the spec");
    }
    lines.putIfAbsent(path, line(parentPath));
  }

  private int index(String path, String text) {
    if (!text.matches("\\d{1,6}")) {
      throw new SpecException(file, 0, path, "override: [" + text + "] is not a list index");
    }
    return Integer.parseInt(text);
  }

  private JsonNode find(String path) {
    JsonNode node = root;
    for (String part : path.replace("[", ".[").split("\\.")) {
      if (part.isEmpty()) {
        continue;
      }
      node =
          part.startsWith("[")
              ? node.path(index(path, part.substring(1, part.length() - 1)))
              : node.path(part);
    }
    if (node.isMissingNode()) {
      throw new SpecException(file, 0, path, "override: no such key in the spec");
    }
    return node;
  }

  private static JsonNode read(
      String file, JsonParser parser, String path, Map<String, Integer> lines) throws IOException {
    JsonToken token = parser.currentToken();
    lines.putIfAbsent(path, line(parser));
    JsonNodeFactory nodes = JsonNodeFactory.instance;
    switch (token) {
      case START_OBJECT:
        {
          ObjectNode object = nodes.objectNode();
          while (parser.nextToken() == JsonToken.FIELD_NAME) {
            String name = parser.currentName();
            String child = path.isEmpty() ? name : path + "." + name;
            int keyLine = line(parser);
            if (object.has(name)) {
              throw new SpecException(file, keyLine, child, "duplicate key");
            }
            lines.put(child, keyLine);
            parser.nextToken();
            object.set(name, read(file, parser, child, lines));
          }
          return object;
        }
      case START_ARRAY:
        {
          ArrayNode array = nodes.arrayNode();
          int i = 0;
          while (parser.nextToken() != JsonToken.END_ARRAY) {
            String child = path + "[" + i++ + "]";
            lines.put(child, line(parser));
            array.add(read(file, parser, child, lines));
          }
          return array;
        }
      case VALUE_STRING:
        return nodes.textNode(parser.getText());
      case VALUE_NUMBER_INT:
        return nodes.numberNode(parser.getLongValue());
      case VALUE_NUMBER_FLOAT:
        return nodes.numberNode(parser.getDoubleValue());
      case VALUE_TRUE:
        return nodes.booleanNode(true);
      case VALUE_FALSE:
        return nodes.booleanNode(false);
      case VALUE_NULL:
        return nodes.nullNode();
      default:
        throw new SpecException(file, line(parser), path, "unexpected YAML token " + token);
    }
  }

  private static int line(JsonParser parser) {
    return parser.currentTokenLocation().getLineNr();
  }

  public String file() {
    return file;
  }

  public JsonNode root() {
    return root;
  }

  /** The line of {@code path}, or of its nearest ancestor that has one. */
  public int line(String path) {
    String p = path;
    while (true) {
      Integer line = lines.get(p);
      if (line != null) {
        return line;
      }
      if (p.isEmpty()) {
        return 1;
      }
      int cut = Math.max(p.lastIndexOf('.'), p.lastIndexOf('['));
      p = cut < 0 ? "" : p.substring(0, cut);
    }
  }

  /** An error at {@code path}, with its line. */
  public SpecException error(String path, String message) {
    return new SpecException(file, line(path), path, message);
  }
}
