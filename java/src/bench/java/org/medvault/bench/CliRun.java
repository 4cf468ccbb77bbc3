package org.medvault.bench;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * Runs the {@code medvault} CLI as a separate process, as a user would, and measures its wall time
 * and (when GNU time is installed) its peak resident memory. For the benchmarks.
 */
record CliRun(int exit, String out, String err, double seconds, long peakKiB) {
    static final Path GNU_TIME = Path.of("/usr/bin/time");

    static boolean measuresMemory() {
        return Files.isExecutable(GNU_TIME);
    }

    static CliRun run(Path jar, Map<String, String> env, String... args) throws IOException, InterruptedException {
        List<String> cmd = new ArrayList<>();
        Path peakFile = Files.createTempFile("medvault-peak", ".txt");
        if (measuresMemory()) {
            cmd.addAll(List.of(GNU_TIME.toString(), "-f", "%M", "-o", peakFile.toString()));
        }
        cmd.addAll(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(), "-jar", jar.toString()));
        cmd.addAll(List.of(args));
        ProcessBuilder pb = new ProcessBuilder(cmd);
        pb.environment().putAll(env);
        Path errFile = Files.createTempFile("medvault-err", ".txt");
        pb.redirectError(errFile.toFile());
        long t = System.nanoTime();
        Process p = pb.start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        int exit = p.waitFor();
        double seconds = (System.nanoTime() - t) / 1e9;
        String err = Files.readString(errFile);
        long peak = -1;
        if (measuresMemory()) {
            String s = Files.readString(peakFile).strip();
            String last = s.substring(s.lastIndexOf('\n') + 1).strip();
            peak = last.matches("\\d+") ? Long.parseLong(last) : -1;
        }
        Files.deleteIfExists(peakFile);
        Files.deleteIfExists(errFile);
        CliRun r = new CliRun(exit, out, err, seconds, peak);
        if (exit != 0) {
            throw new IllegalStateException("medvault " + String.join(" ", args) + " failed (exit " + exit + "): " + err);
        }
        return r;
    }
}
