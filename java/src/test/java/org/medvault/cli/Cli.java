package org.medvault.cli;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.util.Map;

import picocli.CommandLine;

/** Runs the real picocli entry point with a given environment and no terminal; captures output. */
final class Cli {
    record Result(int exit, String out, String err) {
        @Override
        public String toString() {
            return "exit " + exit + "\n--- stdout\n" + out + "--- stderr\n" + err;
        }
    }

    /** Everything any command printed in this test JVM, for {@link SecretScan}. */
    static final java.util.List<String> PRINTED = java.util.Collections.synchronizedList(new java.util.ArrayList<>());

    private Cli() {}

    static Result run(Map<String, String> env, String... args) {
        CommandLine cl = MedVault.commandLine(env, null);
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        cl.setOut(new PrintWriter(out, true));
        cl.setErr(new PrintWriter(err, true));
        int exit = cl.execute(args);
        PRINTED.add(out.toString());
        PRINTED.add(err.toString());
        return new Result(exit, out.toString(), err.toString());
    }

    /** The test admin's identity passphrase (not a secret: test data). */
    static final String ADMIN_PASS = "records admin of the test hospital, not a secret";
    /** The environment that unseals {@link #writer}'s identity. */
    static final Map<String, String> ADMIN_ENV = Map.of(IdentityOption.ENV, ADMIN_PASS);

    /**
     * A writer identity {@code dir/admin.id} (and {@code admin.pub}), made through the CLI on first
     * use: what a ceremony pins with --writer and what encrypt and import sign with --identity.
     */
    static java.nio.file.Path writer(java.nio.file.Path dir) {
        java.nio.file.Path id = dir.resolve("admin.id");
        if (!java.nio.file.Files.exists(id)) {
            Result r = run(ADMIN_ENV, "identity", "create", "--out", id.toString(), "--name", "Test records admin", "-q");
            if (r.exit() != 0) {
                throw new AssertionError("identity create: " + r);
            }
        }
        return id;
    }

    /** Starts the CLI in a child JVM (this JVM's classpath, stdout and stderr merged). */
    static Process spawn(Map<String, String> env, java.util.List<String> args) throws java.io.IOException {
        java.util.List<String> cmd = new java.util.ArrayList<>(java.util.List.of(
                java.nio.file.Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-cp", System.getProperty("java.class.path"), MedVault.class.getName()));
        cmd.addAll(args);
        ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true);
        pb.environment().putAll(env);
        return pb.start();
    }
}
