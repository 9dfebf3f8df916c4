package dev.sluice.io;

import com.fasterxml.jackson.core.JsonEncoding;
import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonGenerator;
import com.fasterxml.jackson.core.json.JsonWriteFeature;
import com.google.auto.value.AutoValue;
import dev.sluice.model.DeadLetter;
import dev.sluice.model.RawPayload;
import dev.sluice.transforms.BundleCounter;
import dev.sluice.transforms.Checks;
import dev.sluice.transforms.OutputWithDeadLetters;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.math.BigDecimal;
import java.nio.channels.Channels;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.apache.beam.sdk.coders.StringUtf8Coder;
import org.apache.beam.sdk.io.Compression;
import org.apache.beam.sdk.io.FileIO;
import org.apache.beam.sdk.io.fs.EmptyMatchTreatment;
import org.apache.beam.sdk.transforms.Create;
import org.apache.beam.sdk.transforms.DoFn;
import org.apache.beam.sdk.transforms.PTransform;
import org.apache.beam.sdk.transforms.ParDo;
import org.apache.beam.sdk.transforms.display.DisplayData;
import org.apache.beam.sdk.values.PBegin;
import org.apache.beam.sdk.values.PCollectionTuple;
import org.apache.beam.sdk.values.TupleTag;
import org.apache.beam.sdk.values.TupleTagList;
import org.checkerframework.checker.nullness.qual.Nullable;
import org.joda.time.Instant;

/**
 * Event files: a bounded replay of every file matching a glob, one {@link RawPayload} per non-blank
 * line, for {@link dev.sluice.transforms.ParseEvents#fromRawPayloads()}.
 *
 * <pre>{@code
 * OutputWithDeadLetters<RawPayload> lines =
 *     pipeline.apply("ReadEventFiles", EventFilesIO.read("gs://bucket/replay/2026-01-*.csv"));
 * OutputWithDeadLetters<Event> events =
 *     lines.output().apply("ParseEvents", ParseEvents.fromRawPayloads());
 * // lines.deadLetters(): CSV rows that could not become JSON; events.deadLetters(): the rest
 * }</pre>
 *
 * <p>Files are matched with Beam's {@code FileIO}, so any Beam filesystem works (local, {@code
 * gs://}, {@code s3://}, ...), and a compressed file ({@code .gz}, {@code .bz2}, {@code .zst}, ...)
 * is decompressed. Each file's format comes from its extension, after any compression extension,
 * unless forced with {@link Read#withFormat}:
 *
 * <ul>
 *   <li>{@link Format#JSON_LINES} ({@code .jsonl}, {@code .ndjson}, {@code .json}): one JSON object
 *       per line. The line's bytes are passed on unchanged; {@code ParseEvents} judges them.
 *   <li>{@link Format#CSV} ({@code .csv}): RFC 4180 cells (quoted cells, {@code ""} for a quote,
 *       commas inside quotes), except that a record is one line: a quoted cell cannot span lines,
 *       so one stray quote cannot swallow the rest of a file and every row keeps its line number.
 *       The first non-blank line is the header naming the columns. Each data row becomes the UTF-8
 *       JSON object {@code {"<column>": cell, ...}} in header order, so {@code ParseEvents} reads
 *       it exactly like a JSON line (a row that {@code ParseEvents} rejects carries that JSON as
 *       its payload; its source leads back to the line). Empty cells are omitted. A cell of a
 *       numeric column ({@link Read#withNumericColumns}, default {@code value}) that is a decimal
 *       number, surrounding spaces aside, becomes a JSON number; {@code NaN} or {@code
 *       [+-]Infinity} becomes the non-finite number that {@code ParseEvents} rejects as {@code
 *       NON_FINITE_VALUE}; every other cell is a JSON string. A row with more or fewer cells than
 *       the header, with bad quoting or that is not UTF-8 is a {@code MALFORMED_CSV} dead letter
 *       (stage {@value #STAGE}) with the original line. A header that cannot be parsed or names a
 *       column twice rejects itself and every row of its file the same way. A file without a header
 *       (empty or blank) yields nothing.
 * </ul>
 *
 * <p>{@code source} of every payload and dead letter is {@code <file path>:<line>}, with lines
 * counted from 1 including blank ones. Line ends are {@code \n} or {@code \r\n}; a leading UTF-8
 * byte order mark is dropped.
 *
 * <p>Bounded. Each file is read by one worker, from its first line to its last; files are read in
 * parallel, in no particular order. Element timestamps are the minimum timestamp in the global
 * window, which {@code ParseEvents} moves forward to each event's own time. A glob that matches no
 * file fails the pipeline when it runs (by default; see {@link Read#withEmptyMatchTreatment}), as
 * does a matched file whose format cannot be told from its extension, rather than skipping data.
 * Counters in namespace {@value #METRICS_NAMESPACE}: {@value #LINES_READ} (non-blank lines, headers
 * included) and {@value #CSV_ROWS_REJECTED}.
 *
 * <p>Delivery: in a successful run every non-blank data line appears exactly once in {@code
 * output()} or {@code deadLetters()}; a runner discards the output of a failed bundle before it
 * retries. Running the pipeline again replays the files again, which idempotent sinks make
 * harmless.
 */
public final class EventFilesIO {
  private EventFilesIO() {}

  /** Value of {@link DeadLetter#stage()} for rows this reader rejects. */
  public static final String STAGE = "read";

  public static final String METRICS_NAMESPACE = "sluice.files";

  /** Counter of non-blank lines read, CSV headers included. */
  public static final String LINES_READ = "lines_read";

  /** Counter of CSV lines sent to dead letters. */
  public static final String CSV_ROWS_REJECTED = "csv_rows_rejected";

  /** How the lines of a file are written. */
  public enum Format {
    /** One JSON object per line. */
    JSON_LINES,
    /** RFC 4180 CSV with a header line, one record per line. */
    CSV
  }

  /**
   * Reads every file matching {@code glob}. Defaults: format by extension, numeric column {@code
   * value}, a glob matching no file is an error ({@link EmptyMatchTreatment#DISALLOW}).
   */
  public static Read read(String glob) {
    Checks.notBlank("glob", glob);
    return new AutoValue_EventFilesIO_Read.Builder()
        .setGlob(glob)
        .setNumericColumns(List.of("value"))
        .setEmptyMatchTreatment(EmptyMatchTreatment.DISALLOW)
        .build();
  }

  /** A bounded read of event files; see the class comment. */
  @AutoValue
  public abstract static class Read extends PTransform<PBegin, OutputWithDeadLetters<RawPayload>> {

    abstract String glob();

    abstract @Nullable Format format();

    abstract List<String> numericColumns();

    abstract EmptyMatchTreatment emptyMatchTreatment();

    abstract Builder toBuilder();

    /** Reads every matched file in this format, whatever its extension. */
    public Read withFormat(Format format) {
      Checks.notNull("format", format);
      return toBuilder().setFormat(format).build();
    }

    /**
     * CSV columns whose numeric cells become JSON numbers (default {@code value}); cells of other
     * columns are always strings. Pass the value fields of a custom {@code FieldMapping}.
     */
    public Read withNumericColumns(String... columns) {
      Checks.notNull("numericColumns", columns);
      for (int i = 0; i < columns.length; i++) {
        Checks.notBlank("numericColumns[" + i + "]", columns[i]);
      }
      return toBuilder().setNumericColumns(List.of(columns)).build();
    }

    /**
     * What a glob that matches no file means (default {@link EmptyMatchTreatment#DISALLOW}: the
     * pipeline fails when it runs, so that a typo is not an empty replay). The match happens when
     * the pipeline runs, not at construction, because the filesystem may only be reachable from the
     * workers.
     */
    public Read withEmptyMatchTreatment(EmptyMatchTreatment treatment) {
      Checks.notNull("emptyMatchTreatment", treatment);
      return toBuilder().setEmptyMatchTreatment(treatment).build();
    }

    @Override
    public OutputWithDeadLetters<RawPayload> expand(PBegin input) {
      if (format() == null) {
        checkGlobExtension(glob());
      }
      TupleTag<RawPayload> outputTag = new TupleTag<RawPayload>() {};
      TupleTag<DeadLetter> deadLettersTag = new TupleTag<DeadLetter>() {};
      PCollectionTuple tuple =
          input
              .apply("Glob", Create.of(glob()).withCoder(StringUtf8Coder.of()))
              // No reshuffle of the matched files: behind one, the Direct runner may advance the
              // watermark while a file is still being read, turning a bounded replay's events
              // late (seen as extra LATE panes). Files are still read in parallel by bundles.
              .apply(
                  "MatchFiles",
                  FileIO.matchAll()
                      .withEmptyMatchTreatment(emptyMatchTreatment())
                      .withOutputParallelization(false))
              .apply("ReadMatches", FileIO.readMatches())
              .apply(
                  "ReadLines",
                  ParDo.of(new ReadFn(format(), numericColumns(), outputTag, deadLettersTag))
                      .withOutputTags(outputTag, TupleTagList.of(deadLettersTag)));
      tuple.get(outputTag).setCoder(RawPayload.RawPayloadCoder.of());
      tuple.get(deadLettersTag).setCoder(DeadLetter.DeadLetterCoder.of());
      return OutputWithDeadLetters.in(tuple, outputTag, deadLettersTag);
    }

    @Override
    public void populateDisplayData(DisplayData.Builder builder) {
      super.populateDisplayData(builder);
      builder
          .add(DisplayData.item("glob", glob()))
          .add(DisplayData.item("format", format() == null ? "by extension" : format().name()))
          .add(DisplayData.item("numericColumns", String.join(",", numericColumns())))
          .add(DisplayData.item("emptyMatchTreatment", emptyMatchTreatment().name()));
    }

    @AutoValue.Builder
    abstract static class Builder {
      abstract Builder setGlob(String value);

      abstract Builder setFormat(Format value);

      abstract Builder setNumericColumns(List<String> value);

      abstract Builder setEmptyMatchTreatment(EmptyMatchTreatment value);

      abstract Read build();
    }
  }

  private static final String EXTENSIONS =
      "(.jsonl, .ndjson, .json or .csv, optionally compressed); set it with"
          + " withFormat(Format.JSON_LINES) or withFormat(Format.CSV)";

  /** The format a file name implies, or {@code null}. */
  static @Nullable Format formatOf(String fileName) {
    String name = fileName.toLowerCase(Locale.ROOT);
    int dot = name.lastIndexOf('.');
    if (Compression.detect(name) != Compression.UNCOMPRESSED && dot > 0) {
      name = name.substring(0, dot);
    }
    if (name.endsWith(".jsonl") || name.endsWith(".ndjson") || name.endsWith(".json")) {
      return Format.JSON_LINES;
    }
    return name.endsWith(".csv") ? Format.CSV : null;
  }

  /**
   * Fails at construction when the glob's own extension already says no file can have a known
   * format; a wildcard in the extension leaves the decision to each matched file.
   */
  private static void checkGlobExtension(String glob) {
    String last = glob.substring(Math.max(glob.lastIndexOf('/'), glob.lastIndexOf('\\')) + 1);
    int dot = last.lastIndexOf('.');
    String tail = dot < 0 ? last : last.substring(dot);
    boolean wildcard = tail.chars().anyMatch(c -> "*?[]{}".indexOf(c) >= 0);
    if (!wildcard && formatOf(last) == null) {
      throw new IllegalArgumentException(
          "cannot tell the format of files matching '"
              + glob
              + "' from their extension "
              + EXTENSIONS);
    }
  }

  /** Why a CSV line is not a row. */
  static final class CsvException extends Exception {
    CsvException(String message) {
      super(message, null, false, false);
    }
  }

  /** The cells of one CSV line (RFC 4180 quoting, no line breaks inside cells). */
  static List<String> parseCsvLine(String line) throws CsvException {
    List<String> cells = new ArrayList<>();
    StringBuilder cell = new StringBuilder();
    int n = line.length();
    int i = 0;
    while (true) {
      cell.setLength(0);
      if (i < n && line.charAt(i) == '"') {
        int open = i++;
        while (true) {
          if (i >= n) {
            throw new CsvException("the quote at column " + (open + 1) + " is never closed");
          }
          char c = line.charAt(i++);
          if (c != '"') {
            cell.append(c);
          } else if (i < n && line.charAt(i) == '"') {
            cell.append('"');
            i++;
          } else {
            break;
          }
        }
        if (i < n && line.charAt(i) != ',') {
          throw new CsvException(
              "column " + (i + 1) + ": a closing quote must be followed by a comma or line end");
        }
      } else {
        for (; i < n && line.charAt(i) != ','; i++) {
          if (line.charAt(i) == '"') {
            throw new CsvException(
                "column "
                    + (i + 1)
                    + ": a quote inside an unquoted cell (quote the cell and double the quote)");
          }
          cell.append(line.charAt(i));
        }
      }
      cells.add(cell.toString());
      if (i >= n) {
        return cells;
      }
      i++; // the comma
    }
  }

  /** The column names of a CSV header line; a name that appears twice is an error. */
  static List<String> parseHeader(byte[] line) throws CsvException {
    List<String> columns = parseCsvLine(utf8(line));
    Set<String> seen = new HashSet<>();
    for (String column : columns) {
      if (!seen.add(column)) {
        throw new CsvException("column '" + column + "' appears twice");
      }
    }
    return columns;
  }

  /** The line as text; bytes that are not UTF-8 are an error. */
  static String utf8(byte[] line) throws CsvException {
    String text = DeadLetter.decodeUtf8OrNull(line);
    if (text == null) {
      throw new CsvException("line is not valid UTF-8");
    }
    return text;
  }

  /** Longest line read whole (1 MiB, the parse step's payload limit); longer ones are dead. */
  static final int MAX_LINE_BYTES = 1 << 20;

  /** Bytes of a too-long line kept in its dead letter. */
  static final int TOO_LONG_PREFIX_BYTES = 64 * 1024;

  /**
   * Splits a stream into lines ending in {@code \n} or {@code \r\n}, as bytes. A line longer than
   * {@code maxLineBytes} is not kept in memory: only its first {@link #TOO_LONG_PREFIX_BYTES} bytes
   * are, with its length and SHA-256 ({@link #tooLong()}), so a file without newlines cannot
   * exhaust the heap.
   */
  static final class LineReader {
    private final InputStream in;
    private final int maxLineBytes;
    private final byte[] buffer = new byte[64 * 1024];
    private int position;
    private int limit;
    private byte[] line = new byte[256];
    private int length;
    private long total;
    private java.security.MessageDigest digest;

    LineReader(InputStream in) {
      this(in, MAX_LINE_BYTES);
    }

    LineReader(InputStream in, int maxLineBytes) {
      this.in = in;
      this.maxLineBytes = maxLineBytes;
    }

    /** True when the line {@link #next} returned last was longer than the limit (a prefix). */
    boolean tooLong() {
      return total > maxLineBytes;
    }

    /** The full length in bytes of the last line. */
    long lastLength() {
      return total;
    }

    /** The SHA-256 of the full last line, when it was {@link #tooLong()}. */
    String lastSha256() {
      return java.util.HexFormat.of().formatHex(digest.digest());
    }

    /** The next line without its terminator, or {@code null} at the end of the input. */
    byte @Nullable [] next() throws IOException {
      length = 0;
      total = 0;
      digest = null;
      boolean any = false;
      while (true) {
        if (position == limit) {
          int read = in.read(buffer, 0, buffer.length);
          if (read < 0) {
            if (!any) {
              return null;
            }
            break;
          }
          position = 0;
          limit = read;
        }
        any = true;
        int start = position;
        while (position < limit && buffer[position] != '\n') {
          position++;
        }
        append(start, position - start);
        if (position < limit) {
          position++; // the '\n'
          break;
        }
      }
      if (tooLong()) {
        return Arrays.copyOf(line, length);
      }
      int end = length > 0 && line[length - 1] == '\r' ? length - 1 : length;
      return Arrays.copyOf(line, end);
    }

    private void append(int start, int count) {
      total += count;
      if (total > maxLineBytes) {
        if (digest == null) {
          try {
            digest = java.security.MessageDigest.getInstance("SHA-256");
          } catch (java.security.NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
          }
          digest.update(line, 0, length);
          length = Math.min(length, TOO_LONG_PREFIX_BYTES);
        }
        digest.update(buffer, start, count);
        int room = Math.max(0, TOO_LONG_PREFIX_BYTES - length);
        count = Math.min(count, room);
        if (count == 0) {
          return;
        }
      }
      if (length + count > line.length) {
        line = Arrays.copyOf(line, Math.max(line.length * 2, length + count));
      }
      System.arraycopy(buffer, start, line, length, count);
      length += count;
    }
  }

  /** True for a line of only spaces, tabs and carriage returns. */
  static boolean isBlank(byte[] line) {
    for (byte b : line) {
      if (b != ' ' && b != '\t' && b != '\r') {
        return false;
      }
    }
    return true;
  }

  /** The line without a leading UTF-8 byte order mark. */
  static byte[] withoutByteOrderMark(byte[] line) {
    return line.length >= 3
            && line[0] == (byte) 0xEF
            && line[1] == (byte) 0xBB
            && line[2] == (byte) 0xBF
        ? Arrays.copyOfRange(line, 3, line.length)
        : line;
  }

  /** A plain decimal number, ASCII digits only (BigDecimal alone would take any Unicode digit). */
  private static final Pattern DECIMAL =
      Pattern.compile("[+-]?(?:[0-9]+\\.?[0-9]*|\\.[0-9]+)(?:[eE][+-]?[0-9]+)?");

  private static final Pattern NON_FINITE = Pattern.compile("(?i)(?:nan|([+-]?)inf(?:inity)?)");

  private static final class ReadFn extends DoFn<FileIO.ReadableFile, RawPayload> {
    private final @Nullable Format format;
    private final HashSet<String> numericColumns;
    private final TupleTag<RawPayload> outputTag;
    private final TupleTag<DeadLetter> deadLettersTag;

    private transient JsonFactory json;
    // Counted per bundle (see BundleCounter): a file has many lines.
    private transient BundleCounter linesRead;
    private transient BundleCounter csvRowsRejected;

    ReadFn(
        @Nullable Format format,
        List<String> numericColumns,
        TupleTag<RawPayload> outputTag,
        TupleTag<DeadLetter> deadLettersTag) {
      this.format = format;
      this.numericColumns = new HashSet<>(numericColumns);
      this.outputTag = outputTag;
      this.deadLettersTag = deadLettersTag;
    }

    @Setup
    public void setup() {
      // Non-finite numbers stay numbers, so ParseEvents reports NON_FINITE_VALUE as for JSON.
      json = JsonFactory.builder().disable(JsonWriteFeature.WRITE_NAN_AS_STRINGS).build();
      linesRead = BundleCounter.of(METRICS_NAMESPACE, LINES_READ).flushingEvery(10_000);
      csvRowsRejected = BundleCounter.of(METRICS_NAMESPACE, CSV_ROWS_REJECTED);
    }

    @StartBundle
    public void startBundle() {
      linesRead.reset();
      csvRowsRejected.reset();
    }

    @FinishBundle
    public void finishBundle() {
      linesRead.flush();
      csvRowsRejected.flush();
    }

    @ProcessElement
    public void process(@Element FileIO.ReadableFile file, MultiOutputReceiver out)
        throws IOException {
      String path = file.getMetadata().resourceId().toString();
      Format fileFormat = format != null ? format : formatOf(path);
      if (fileFormat == null) {
        throw new IllegalArgumentException(
            "cannot tell the format of " + path + " from its extension " + EXTENSIONS);
      }
      try (InputStream in = Channels.newInputStream(file.open())) {
        LineReader lines = new LineReader(in);
        if (fileFormat == Format.JSON_LINES) {
          readJsonLines(path, lines, out);
        } else {
          readCsv(path, lines, out);
        }
      }
    }

    private void readJsonLines(String path, LineReader lines, MultiOutputReceiver out)
        throws IOException {
      int number = 0;
      for (byte[] line = lines.next(); line != null; line = lines.next()) {
        number++;
        if (lines.tooLong()) {
          linesRead.inc();
          rejectTooLong(out, lines, line, path + ":" + number);
          continue;
        }
        if (number == 1) {
          line = withoutByteOrderMark(line);
        }
        if (!isBlank(line)) {
          linesRead.inc();
          out.get(outputTag).output(new RawPayload(line, path + ":" + number));
        }
      }
    }

    private void rejectTooLong(
        MultiOutputReceiver out, LineReader lines, byte[] prefix, String source) {
      out.get(deadLettersTag)
          .output(
              DeadLetter.truncated(
                  STAGE,
                  DeadLetter.Reason.TOO_LARGE,
                  "line is "
                      + lines.lastLength()
                      + " bytes, more than the limit of "
                      + MAX_LINE_BYTES,
                  prefix,
                  lines.lastLength(),
                  lines.lastSha256(),
                  TOO_LONG_PREFIX_BYTES,
                  source,
                  Instant.now()));
    }

    private void readCsv(String path, LineReader lines, MultiOutputReceiver out)
        throws IOException {
      List<String> header = null;
      String headerProblem = null;
      int number = 0;
      for (byte[] line = lines.next(); line != null; line = lines.next()) {
        number++;
        if (lines.tooLong()) {
          linesRead.inc();
          rejectTooLong(out, lines, line, path + ":" + number);
          continue;
        }
        if (number == 1) {
          line = withoutByteOrderMark(line);
        }
        if (isBlank(line)) {
          continue;
        }
        linesRead.inc();
        String source = path + ":" + number;
        if (header == null && headerProblem == null) {
          try {
            header = parseHeader(line);
          } catch (CsvException e) {
            headerProblem = "the header at line " + number + " is malformed: " + e.getMessage();
            reject(out, "header: " + e.getMessage(), line, source);
          }
          continue;
        }
        if (headerProblem != null) {
          reject(out, headerProblem, line, source);
          continue;
        }
        try {
          out.get(outputTag).output(new RawPayload(toJson(header, parseRow(line, header)), source));
        } catch (CsvException e) {
          reject(out, e.getMessage(), line, source);
        }
      }
    }

    private static List<String> parseRow(byte[] line, List<String> header) throws CsvException {
      List<String> cells = parseCsvLine(utf8(line));
      if (cells.size() != header.size()) {
        throw new CsvException(
            "row has " + cells.size() + " cells but the header has " + header.size() + " columns");
      }
      return cells;
    }

    private byte[] toJson(List<String> header, List<String> cells) throws IOException {
      ByteArrayOutputStream bytes = new ByteArrayOutputStream(128);
      try (JsonGenerator gen = json.createGenerator(bytes, JsonEncoding.UTF8)) {
        gen.writeStartObject();
        for (int c = 0; c < cells.size(); c++) {
          String cell = cells.get(c);
          if (cell.isEmpty()) {
            continue;
          }
          gen.writeFieldName(header.get(c));
          if (!numericColumns.contains(header.get(c)) || !writeNumber(gen, cell.strip())) {
            gen.writeString(cell);
          }
        }
        gen.writeEndObject();
      }
      return bytes.toByteArray();
    }

    /** Writes {@code text} as a JSON number if it is one; {@code false} if it is not. */
    private static boolean writeNumber(JsonGenerator gen, String text) throws IOException {
      if (DECIMAL.matcher(text).matches()) {
        BigDecimal number;
        try {
          number = new BigDecimal(text);
        } catch (NumberFormatException e) { // an exponent beyond int range
          return false;
        }
        gen.writeNumber(number);
        return true;
      }
      Matcher nonFinite = NON_FINITE.matcher(text);
      if (nonFinite.matches()) {
        gen.writeNumber(
            nonFinite.group(1) == null
                ? Double.NaN
                : nonFinite.group(1).equals("-")
                    ? Double.NEGATIVE_INFINITY
                    : Double.POSITIVE_INFINITY);
        return true;
      }
      return false;
    }

    private void reject(MultiOutputReceiver out, String error, byte[] line, String source) {
      csvRowsRejected.inc();
      out.get(deadLettersTag)
          .output(
              DeadLetter.ofBytes(
                  STAGE, DeadLetter.Reason.MALFORMED_CSV, error, line, source, Instant.now()));
    }
  }
}
