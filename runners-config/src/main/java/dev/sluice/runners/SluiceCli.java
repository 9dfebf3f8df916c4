package dev.sluice.runners;

import dev.sluice.pipelines.SpecJob;
import dev.sluice.pipelines.spec.PipelineSpec;
import dev.sluice.pipelines.spec.SpecException;
import dev.sluice.pipelines.spec.SpecReader;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import org.apache.beam.sdk.PipelineResult;
import org.apache.beam.sdk.options.PipelineOptions;
import org.apache.beam.sdk.options.PipelineOptionsFactory;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/**
 * The {@code sluice} command line: run, validate and explain pipeline specs.
 *
 * <pre>{@code
 * ./sluice validate examples/iot.yaml
 * ./sluice explain examples/iot.yaml --runner flink
 * ./sluice run examples/iot.yaml [--runner direct|flink|flink-cluster|dataflow] [-- beam options]
 * }</pre>
 *
 * <p>Exit status: 0 ok, 2 invalid spec or arguments, 1 the job failed.
 */
@Command(
    name = "sluice",
    mixinStandardHelpOptions = true,
    version = "sluice 0.1.0",
    description = {
      "Real-time monitoring pipelines on Apache Beam, described in YAML.",
      "",
      "Options are written as Beam writes pipeline options, --name=value in camelCase (e.g."
          + " --runner=flink --flinkMaster=localhost:8081); the kebab-case spellings"
          + " (--flink-master) are accepted too. Options after -- go to Beam as they are."
    },
    subcommands = {
      SluiceCli.MainJob.class,
      SluiceCli.Run.class,
      SluiceCli.Validate.class,
      SluiceCli.Explain.class,
      SluiceCli.Query.class,
      SluiceCli.Ui.class,
      SluiceCli.FlinkCluster.class,
      SluiceCli.FlexTemplateCommand.class
    },
    footer = {
      "",
      "Without a command, ./sluice runs the main job (the same as ./sluice main): the bundled spec"
          + " main-job.yaml on the Direct runner, e.g. ./sluice --numEvents=100000 --runner=flink."
    })
public final class SluiceCli implements Callable<Integer> {
  static final int OK = 0;
  static final int FAILED = 1;
  static final int INVALID = 2;

  @CommandLine.Spec CommandLine.Model.CommandSpec command;

  @Override
  public Integer call() {
    command.commandLine().usage(command.commandLine().getOut());
    return INVALID;
  }

  public static void main(String[] args) {
    System.exit(execute(args));
  }

  /** True when {@code name} is one of the command line's commands or its help/version option. */
  static boolean isCommand(String name) {
    return List.of("--help", "-h", "--version", "-V").contains(name)
        || new CommandLine(new SluiceCli()).getSubcommands().containsKey(name);
  }

  /** Runs the command line; returns the exit status. */
  public static int execute(String... args) {
    CommandLine cli = new CommandLine(new SluiceCli());
    // The pass-through commands hand every argument, in order, to their own parser.
    for (String name : List.of("main", "query", "ui", "flink-cluster")) {
      cli.getSubcommands().get(name).setUnmatchedOptionsArePositionalParams(true);
    }
    cli.setExitCodeExceptionMapper(e -> e instanceof SpecException ? INVALID : FAILED);
    cli.setExecutionExceptionHandler(
        (e, commandLine, parseResult) -> {
          if (e instanceof IllegalArgumentException) {
            commandLine.getErr().println("Invalid: " + e.getMessage());
            return INVALID;
          }
          commandLine.getErr().println("Failed: " + e);
          return FAILED;
        });
    cli.setParameterExceptionHandler(
        (e, parsed) -> {
          e.getCommandLine().getErr().println(e.getMessage());
          e.getCommandLine().usage(e.getCommandLine().getErr());
          return INVALID;
        });
    return cli.execute(args);
  }

  /** Arguments passed on as they are, in order, for the commands that have their own parser. */
  abstract static class PassThrough implements Callable<Integer> {
    @Parameters(arity = "0..*", paramLabel = "ARG", description = "see the command's --help")
    List<String> args = new ArrayList<>();

    String[] all() {
      return args.toArray(new String[0]);
    }
  }

  @Command(
      name = "main",
      description =
          "Run the main job (the bundled spec main-job.yaml): --runner=direct|flink|flink-cluster,"
              + " --numEvents=N, --outputDir=DIR, ...; ./sluice main --help lists every option.",
      subcommandsRepeatable = false)
  static final class MainJob extends PassThrough {
    @Override
    public Integer call() {
      Launcher.main(all());
      return OK;
    }
  }

  @Command(
      name = "query",
      description = "Query the main job's PostgreSQL store: query [--outputDir=DIR] \"SELECT ...\"")
  static final class Query extends PassThrough {
    @Override
    public Integer call() {
      dev.sluice.pipelines.StoreQuery.main(all());
      return OK;
    }
  }

  @Command(
      name = "ui",
      description =
          "Serve a read-only dashboard of a job's store on localhost: ui [--outputDir=DIR |"
              + " --dataDir=DIR | --jdbcUrl=URL] [--port=8642] [--host=127.0.0.1]; ui --help")
  static final class Ui extends PassThrough {
    @Override
    public Integer call() {
      dev.sluice.pipelines.StoreDashboard.main(all());
      return OK;
    }
  }

  @Command(
      name = "flink-cluster",
      description =
          "A local Flink 1.19 session cluster: flink-cluster start|status|stop, savepoint JOB_ID"
              + " [--stop]")
  static final class FlinkCluster extends PassThrough {
    @Override
    public Integer call() {
      dev.sluice.local.FlinkSessionCluster.main(all());
      return OK;
    }
  }

  /** Options that choose and configure a runner (a picocli mixin of run and explain). */
  static final class RunnerOptions {
    @Option(
        names = "--runner",
        defaultValue = "direct",
        description =
            "direct (default), flink (embedded), flink-cluster, dataflow; or Beam's names"
                + " DirectRunner, FlinkRunner (flink-cluster with --flink-master), DataflowRunner")
    String runner;

    @Option(
        names = {"--flinkMaster", "--flink-master"},
        description = "flink-cluster: host:port of its REST API")
    String flinkMaster;

    @Option(names = "--parallelism", description = "flink: parallelism (default 2)")
    Integer parallelism;

    @Option(
        names = {"--filesToStage", "--files-to-stage"},
        description =
            "flink-cluster, dataflow: the jar to stage (default for flink-cluster:"
                + " runners-config/target/sluice-bundled.jar)")
    String filesToStage;

    @Option(
        names = "--fresh",
        description =
            "start over: drop the job's checkpoints and move the Kafka consumer group back to the"
                + " earliest records")
    boolean fresh;

    @Option(
        names = {"--fromSavepoint", "--from-savepoint"},
        paramLabel = "PATH",
        description = "flink, flink-cluster: restore this savepoint or retained checkpoint")
    String fromSavepoint;

    @Option(
        names = {"--checkpointDir", "--checkpoint-dir"},
        paramLabel = "DIR",
        description = "flink: where checkpoints are kept (default output/checkpoints/<spec name>)")
    String checkpointDir;

    @Option(
        names = {"--acceptStateChanges", "--accept-state-changes"},
        description = "restore even if some saved state belongs to no step any more")
    boolean acceptStateChanges;

    @Option(
        names = {"--metricsPort", "--metrics-port"},
        paramLabel = "PORT",
        description =
            "port of the running job's Prometheus /metrics on localhost (default 9464; 0 = any"
                + " free port, -1 = off); on flink served by Sluice's Flink reporter")
    Integer metricsPort;

    @Option(
        names = {"--metricsHost", "--metrics-host"},
        paramLabel = "HOST",
        description = "address the /metrics endpoint listens on (default 127.0.0.1)")
    String metricsHost;

    @Option(names = "--project", description = "dataflow: GCP project")
    String project;

    @Option(names = "--region", description = "dataflow: region, e.g. europe-west1")
    String region;

    @Option(
        names = {"--tempLocation", "--temp-location"},
        description = "dataflow: gs:// (or local) temp location")
    String tempLocation;

    @Option(
        names = {"--templateFile", "--template-file"},
        description = "dataflow: write the job graph as a classic template to this file")
    String templateFile;

    RunnerPreset preset() {
      RunnerPreset preset;
      try {
        preset = RunnerPreset.named(runner);
      } catch (IllegalArgumentException e) {
        throw new IllegalArgumentException(
            "--runner: '"
                + runner
                + "' is not a runner; use direct, flink, flink-cluster or dataflow (or"
                + " DirectRunner, FlinkRunner, DataflowRunner)");
      }
      // Beam's FlinkRunner is embedded unless it is given a master, as with --flinkMaster.
      if (runner.equals("FlinkRunner") && flinkMaster != null && !flinkMaster.equals("[local]")) {
        return RunnerPreset.FLINK_CLUSTER;
      }
      return preset;
    }

    PipelineOptions toPipelineOptions(List<String> beamOptions) {
      return toPipelineOptions(beamOptions, null, null, Map.of());
    }

    /**
     * The Beam options for {@code beamOptions} on the chosen runner; with a {@code jobName}, also
     * the checkpoint and resume options of the Flink presets (printing where the job resumes).
     */
    PipelineOptions toPipelineOptions(
        List<String> beamOptions,
        String jobName,
        java.io.PrintStream out,
        Map<String, String> stateSettings) {
      RunnerPreset preset = preset();
      List<String> args = new ArrayList<>();
      if (metricsPort != null || metricsHost != null) {
        beamOptions = new ArrayList<>(beamOptions);
        if (metricsPort != null) {
          beamOptions.add("--metricsPort=" + metricsPort);
        }
        if (metricsHost != null) {
          beamOptions.add("--metricsHost=" + metricsHost);
        }
      }
      if (jobName != null) {
        Launcher.ResumeOptions resume = new Launcher.ResumeOptions();
        resume.fresh = fresh;
        resume.fromSavepoint = fromSavepoint;
        resume.checkpointDir = checkpointDir;
        resume.acceptStateChanges = acceptStateChanges;
        resume.stateSettings.putAll(stateSettings);
        String name = Launcher.optionValue(beamOptions, "--jobName");
        if (name == null) {
          name = jobName;
          args.add("--jobName=" + name);
        }
        args.addAll(
            RunnerPreset.withDefaults(
                resume.optionsFor(preset, Path.of("output"), name, out, beamOptions), beamOptions));
      } else {
        args.addAll(beamOptions);
      }
      if (parallelism != null) {
        args.add("--parallelism=" + parallelism);
      }
      switch (preset) {
        case FLINK_CLUSTER -> {
          if (flinkMaster == null) {
            throw new IllegalArgumentException(
                "--runner flink-cluster needs --flink-master host:port (e.g. localhost:8081)");
          }
          args.add("--flinkMaster=" + flinkMaster);
          // [auto]: under Flink's own client (flink run), which ships this job jar itself.
          if (filesToStage == null && !flinkMaster.equals(AUTO_MASTER)) {
            filesToStage = bundledJar();
          }
        }
        case DATAFLOW -> {
          if (templateFile != null && project == null) {
            // Offline: the job graph only; no GCP project, credentials or network needed.
            Path temp = createTempDir();
            args.add("--project=sluice-offline");
            args.add("--region=" + (region == null ? "us-central1" : region));
            args.add("--tempLocation=" + temp);
            args.add("--gcpTempLocation=" + temp);
            args.add("--stagingLocation=" + temp.resolve("staging"));
            args.add(
                "--pathValidatorClass="
                    + "org.apache.beam.sdk.extensions.gcp.storage.NoopPathValidator");
            args.add(
                "--credentialFactoryClass="
                    + "org.apache.beam.sdk.extensions.gcp.auth.NoopCredentialFactory");
            args.add("--templateLocation=" + templateFile);
            if (filesToStage == null) {
              args.add("--filesToStage=" + String.join(",", sluiceJars(temp)));
            }
            break;
          }
          if (templateFile == null && (project == null || region == null)) {
            throw new IllegalArgumentException(
                "--runner dataflow needs --project and --region (and --temp-location gs://...),"
                    + " or --template-file FILE to write the job graph offline");
          }
          if (project != null) {
            args.add("--project=" + project);
          }
          if (region != null) {
            args.add("--region=" + region);
          }
          if (tempLocation != null) {
            args.add("--tempLocation=" + tempLocation);
          }
          if (templateFile != null) {
            args.add("--templateLocation=" + templateFile);
          }
        }
        default -> {}
      }
      if (filesToStage != null) {
        args.add("--filesToStage=" + filesToStage);
      }
      PipelineOptionsFactory.register(dev.sluice.pipelines.StartingPoint.Options.class);
      PipelineOptionsFactory.register(dev.sluice.pipelines.DashboardOptions.class);
      return PipelineOptionsFactory.fromArgs(preset.mergeWith(args).toArray(new String[0]))
          .withValidation()
          .create();
    }
  }

  /** What run and explain share: the spec, overrides, the runner and more Beam options. */
  abstract static class SpecCommand implements Callable<Integer> {
    @Parameters(index = "0", paramLabel = "SPEC", description = "the pipeline spec (YAML)")
    Path spec;

    @CommandLine.Mixin RunnerOptions runnerOptions;

    @Option(
        names = "--set",
        paramLabel = "PATH=VALUE",
        description = "override a setting of the spec, e.g. --set windows[0].size=5m")
    Map<String, String> overrides = new LinkedHashMap<>();

    @Parameters(
        index = "1..*",
        arity = "0..*",
        paramLabel = "BEAM_OPTION",
        description = "more Beam pipeline options after --, e.g. -- --jobName=iot")
    List<String> beamOptions = new ArrayList<>();

    @CommandLine.Spec CommandLine.Model.CommandSpec command;
  }

  @Command(
      name = "run",
      mixinStandardHelpOptions = true,
      description = "Validate a spec and run its pipeline, printing progress and a summary.")
  static final class Run extends SpecCommand {
    @Option(
        names = "--ui",
        arity = "1",
        paramLabel = "true|false",
        description = "serve a read-only dashboard of the job's store while it runs (default true)")
    Boolean ui;

    @Option(
        names = {"--uiPort", "--ui-port"},
        paramLabel = "PORT",
        description = "the dashboard's port (default 8642; a free one when it is taken)")
    Integer uiPort;

    @Override
    public Integer call() {
      if (ui != null) {
        beamOptions.add("--ui=" + ui);
      }
      if (uiPort != null) {
        beamOptions.add("--uiPort=" + uiPort);
      }
      PipelineSpec pipelineSpec = read(command, spec, overrides);
      if (pipelineSpec == null) {
        return INVALID;
      }
      boolean dataflow = runnerOptions.preset() == RunnerPreset.DATAFLOW;
      if (runnerOptions.templateFile != null && !dataflow) {
        throw new IllegalArgumentException(
            "--template-file writes a Dataflow template; it needs --runner dataflow, got --runner "
                + runnerOptions.runner);
      }
      if (dataflow) {
        checkForDataflow(pipelineSpec);
      }
      PipelineOptions options =
          runnerOptions.templateFile != null
              ? runnerOptions.toPipelineOptions(beamOptions)
              : runnerOptions.toPipelineOptions(
                  beamOptions,
                  pipelineSpec.name(),
                  new java.io.PrintStream(System.out, true),
                  stateSettings(pipelineSpec));
      if (runnerOptions.templateFile != null) {
        SpecJob.writeGraph(pipelineSpec, options);
        command
            .commandLine()
            .getOut()
            .printf(
                "Wrote the job graph of %s as a Dataflow classic template to %s%n",
                pipelineSpec.name(), runnerOptions.templateFile);
        command.commandLine().getOut().flush();
        return OK;
      }
      PipelineResult.State state =
          SpecJob.run(pipelineSpec, options, new java.io.PrintStream(System.out, true));
      return state == PipelineResult.State.DONE ? OK : FAILED;
    }
  }

  /**
   * Dataflow's workers cannot reach a PostgreSQL embedded in the launching process.
   *
   * @throws IllegalArgumentException naming the first embedded sink
   */
  static void checkForDataflow(PipelineSpec spec) {
    List<List<PipelineSpec.Sink>> kinds =
        List.of(spec.statsSinks(), spec.alertSinks(), spec.deadLetterSinks());
    List<String> names = List.of("stats", "alerts", "dead_letters");
    for (int k = 0; k < kinds.size(); k++) {
      for (int i = 0; i < kinds.get(k).size(); i++) {
        if (kinds.get(k).get(i).type().equals("embedded")) {
          throw new IllegalArgumentException(
              spec.file()
                  + ": sinks."
                  + names.get(k)
                  + "["
                  + i
                  + "]: type embedded runs in the launching process, which Dataflow workers cannot"
                  + " reach; use type: postgres (your database), jsonl with gs:// paths, or kafka");
        }
      }
    }
  }

  /**
   * The Flink master that means "the cluster of the Flink client this job runs in": {@code flink
   * run} (Flink's {@code CliFrontend}) runs the job jar's main with its own execution environment.
   */
  static final String AUTO_MASTER = "[auto]";

  /**
   * The jar to stage to a cluster: the jar this class was loaded from when Sluice runs from a
   * bundle ({@code java -jar}), else the shaded jar the {@code bundle} profile builds.
   */
  static String bundledJar() {
    Path own = ownJar();
    if (own != null) {
      return own.toString();
    }
    Path jar = Path.of("runners-config", "target", "sluice-bundled.jar");
    if (!java.nio.file.Files.exists(jar)) {
      throw new IllegalArgumentException(
          "--runner flink-cluster stages the job as a shaded jar: build it with"
              + " mvn -B -Pbundle -pl runners-config -am package -DskipTests, or give"
              + " --files-to-stage JAR");
    }
    return jar.toAbsolutePath().toString();
  }

  /** The jar file this class was loaded from, or null when it comes from a classes directory. */
  private static Path ownJar() {
    try {
      java.security.CodeSource source = SluiceCli.class.getProtectionDomain().getCodeSource();
      if (source == null || source.getLocation() == null) {
        return null;
      }
      Path path = Path.of(source.getLocation().toURI());
      return java.nio.file.Files.isRegularFile(path) && path.toString().endsWith(".jar")
          ? path.toAbsolutePath()
          : null;
    } catch (java.net.URISyntaxException | RuntimeException e) {
      return null;
    }
  }

  private static Path createTempDir() {
    try {
      return java.nio.file.Files.createTempDirectory("sluice-dataflow");
    } catch (java.io.IOException e) {
      throw new java.io.UncheckedIOException(e);
    }
  }

  /** The Sluice jars on the classpath (or, run from classes directories, one jar of them). */
  private static List<String> sluiceJars(Path temp) {
    List<String> jars = new ArrayList<>();
    for (String entry : System.getProperty("java.class.path").split(java.io.File.pathSeparator)) {
      String name = Path.of(entry).getFileName().toString();
      if (name.startsWith("sluice-") && name.endsWith(".jar")) {
        jars.add(entry);
      }
    }
    if (jars.isEmpty()) {
      // Staging needs files; the graph itself does not depend on them.
      Path placeholder = temp.resolve("sluice-placeholder.jar");
      try (java.util.jar.JarOutputStream jar =
          new java.util.jar.JarOutputStream(java.nio.file.Files.newOutputStream(placeholder))) {
        jar.putNextEntry(new java.util.zip.ZipEntry("META-INF/sluice.txt"));
        jar.write("offline template".getBytes(java.nio.charset.StandardCharsets.UTF_8));
      } catch (java.io.IOException e) {
        throw new java.io.UncheckedIOException(e);
      }
      jars.add(placeholder.toString());
    }
    return jars;
  }

  @Command(
      name = "validate",
      mixinStandardHelpOptions = true,
      description = "Check specs without running anything; prints each error with file and line.")
  static final class Validate implements Callable<Integer> {
    @Parameters(arity = "1..*", paramLabel = "SPEC", description = "pipeline specs (YAML)")
    List<Path> specs;

    @Option(
        names = "--set",
        paramLabel = "PATH=VALUE",
        description = "override a setting of the spec, e.g. --set windows[0].size=5m")
    Map<String, String> overrides = new LinkedHashMap<>();

    @CommandLine.Spec CommandLine.Model.CommandSpec command;

    @Override
    public Integer call() {
      int status = OK;
      for (Path file : specs) {
        PipelineSpec spec = read(command, file, overrides);
        if (spec == null) {
          status = INVALID;
        } else {
          command
              .commandLine()
              .getOut()
              .printf(
                  "%s: valid pipeline %s: %s source, %d window(s), %d rule(s)%s, %d sink(s)%n",
                  file,
                  spec.name(),
                  spec.source().getClass().getSimpleName().toLowerCase(java.util.Locale.ROOT),
                  spec.windows().size(),
                  spec.rules().size(),
                  spec.silences().isEmpty() ? "" : ", " + spec.silences().size() + " silence(s)",
                  spec.statsSinks().size()
                      + spec.alertSinks().size()
                      + spec.deadLetterSinks().size());
        }
      }
      command.commandLine().getOut().flush();
      return status;
    }
  }

  @Command(
      name = "explain",
      mixinStandardHelpOptions = true,
      description = "Print the transform graph of a spec's pipeline and the options in force.")
  static final class Explain extends SpecCommand {

    @Override
    public Integer call() {
      PipelineSpec pipelineSpec = read(command, spec, overrides);
      if (pipelineSpec == null) {
        return INVALID;
      }
      PrintWriter out = command.commandLine().getOut();
      out.print(SpecJob.explain(pipelineSpec, runnerOptions.toPipelineOptions(beamOptions)));
      out.flush();
      return OK;
    }
  }

  @Command(
      name = "flex-template",
      mixinStandardHelpOptions = true,
      description =
          "Write a Dataflow Flex Template for a spec: metadata.json (a parameter per deployment"
              + " setting), Dockerfile, README.txt with the gcloud commands.")
  static final class FlexTemplateCommand implements Callable<Integer> {
    @Parameters(index = "0", paramLabel = "SPEC", description = "the pipeline spec (YAML)")
    Path spec;

    @Option(
        names = {"--outputDir", "--output-dir"},
        required = true,
        description = "where to write the files")
    Path outputDir;

    @CommandLine.Spec CommandLine.Model.CommandSpec command;

    @Override
    public Integer call() {
      if (read(command, spec, Map.of()) == null) {
        return INVALID;
      }
      for (Path written : FlexTemplate.write(spec, outputDir)) {
        command.commandLine().getOut().println("wrote " + written);
      }
      command.commandLine().getOut().flush();
      return OK;
    }
  }

  private static PipelineSpec read(
      CommandLine.Model.CommandSpec command, Path file, Map<String, String> overrides) {
    try {
      return SpecReader.read(file, overrides);
    } catch (SpecException e) {
      command.commandLine().getErr().println(e.getMessage());
      command.commandLine().getErr().flush();
      return null;
    }
  }

  /**
   * The settings a spec job's saved state depends on: a resume with other values is refused. The
   * exactly-once Kafka sink's layout is recorded only when one is used, so checkpoints of specs
   * without one resume as before.
   */
  static Map<String, String> stateSettings(PipelineSpec spec) {
    Map<String, String> settings = new LinkedHashMap<>();
    settings.put("source", String.valueOf(spec.source()));
    settings.put("windows", String.valueOf(spec.windows()));
    settings.put(
        "rules", spec.rules().stream().map(dev.sluice.rules.Rule::toJson).toList().toString());
    // With the state layout: a checkpoint of the per-id layout is not resumed.
    settings.put(
        "dedup",
        spec.dedupHorizon() == null
            ? "null"
            : spec.dedupHorizon() + " (" + dev.sluice.transforms.Deduplicate.STATE_LAYOUT + ")");
    if (spec.alertSinks().stream()
        .anyMatch(sink -> sink.type().equals("kafka") && sink.exactlyOnce())) {
      settings.put("kafka_exactly_once", dev.sluice.io.KafkaJsonIO.EXACTLY_ONCE_LAYOUT);
    }
    return settings;
  }
}
