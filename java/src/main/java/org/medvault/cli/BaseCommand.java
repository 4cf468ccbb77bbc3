package org.medvault.cli;

import java.io.PrintWriter;
import java.util.concurrent.Callable;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;

import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Spec;

/** Shared plumbing: output streams from picocli (so tests capture them), JSON, progress. */
abstract class BaseCommand implements Callable<Integer> {
    static final ObjectMapper JSON = new ObjectMapper()
            .enable(SerializationFeature.INDENT_OUTPUT)
            .setSerializationInclusion(com.fasterxml.jackson.annotation.JsonInclude.Include.NON_NULL)
            .registerModule(new com.fasterxml.jackson.databind.module.SimpleModule()
                    .addSerializer(java.nio.file.Path.class, new com.fasterxml.jackson.databind.ser.std.ToStringSerializer()));

    @Spec
    CommandSpec spec;

    MedVault root() {
        return (MedVault) spec.root().userObject();
    }

    PrintWriter out() {
        return spec.commandLine().getOut();
    }

    PrintWriter err() {
        return spec.commandLine().getErr();
    }

    /** Progress and diagnostics: stderr, unless quiet. */
    void progress(boolean quiet, String message) {
        if (!quiet) {
            err().println(message);
            err().flush();
        }
    }

    /** Progress reporting for use cases: a bar on a terminal, notes otherwise, nothing with --quiet. */
    org.medvault.app.Progress progressFor(OutputOptions output) {
        return new CliProgress(err(), output.quiet, root().console() != null);
    }

    void printJson(Object value) {
        try {
            out().println(JSON.writeValueAsString(value));
            out().flush();
        } catch (JsonProcessingException e) {
            throw new IllegalStateException(e);
        }
    }

    static String size(long bytes) {
        if (bytes < 1024) {
            return bytes + " B";
        }
        if (bytes < 1024 * 1024) {
            return String.format(java.util.Locale.ROOT, "%.1f KB", bytes / 1024.0);
        }
        return String.format(java.util.Locale.ROOT, "%.1f MB", bytes / (1024.0 * 1024));
    }

    @Override
    public final Integer call() {
        return run();
    }

    abstract int run();
}
