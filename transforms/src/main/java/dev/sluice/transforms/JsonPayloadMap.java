package dev.sluice.transforms;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.AbstractMap;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * A JSON object as the map a {@link PayloadExpression} reads, converted member by member when the
 * expression asks for it (most expressions read two or three fields of a large payload): numbers
 * become doubles, strings strings, booleans booleans, arrays lists, objects maps again; a JSON
 * {@code null} is an absent member, as for the field mapping.
 */
final class JsonPayloadMap extends AbstractMap<String, Object> {
  private final JsonNode object;

  JsonPayloadMap(JsonNode object) {
    this.object = object;
  }

  @Override
  public Object get(Object key) {
    if (!(key instanceof String name)) {
      return null;
    }
    JsonNode node = object.get(name);
    return node == null || node.isNull() ? null : convert(node);
  }

  @Override
  public boolean containsKey(Object key) {
    if (!(key instanceof String name)) {
      return false;
    }
    JsonNode node = object.get(name);
    return node != null && !node.isNull();
  }

  @Override
  public Set<Entry<String, Object>> entrySet() {
    Set<Entry<String, Object>> entries = new LinkedHashSet<>();
    Iterator<Map.Entry<String, JsonNode>> fields = object.fields();
    while (fields.hasNext()) {
      Map.Entry<String, JsonNode> field = fields.next();
      if (!field.getValue().isNull()) {
        entries.add(new SimpleImmutableEntry<>(field.getKey(), convert(field.getValue())));
      }
    }
    return entries;
  }

  static Object convert(JsonNode node) {
    if (node.isObject()) {
      return new JsonPayloadMap(node);
    }
    if (node.isNumber()) {
      return node.doubleValue();
    }
    if (node.isTextual()) {
      return node.textValue();
    }
    if (node.isBoolean()) {
      return node.booleanValue();
    }
    if (node.isArray()) {
      List<Object> items = new ArrayList<>(node.size());
      for (JsonNode item : node) {
        // A null inside an array keeps its place, as CEL's null.
        items.add(item.isNull() ? com.google.protobuf.NullValue.NULL_VALUE : convert(item));
      }
      return items;
    }
    return node.asText();
  }
}
