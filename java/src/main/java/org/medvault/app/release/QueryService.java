package org.medvault.app.release;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

import org.medvault.app.AtomicFiles;
import org.medvault.app.Progress;
import org.medvault.app.keys.KeySetManifest;
import org.medvault.app.keys.ServerKeyFiles;
import org.medvault.app.keys.SecretKeyFile;
import org.medvault.app.vault.VaultStore;
import org.medvault.common.UserException;
import org.medvault.fhe.Ciphertext;
import org.medvault.fhe.ClientKey;
import org.medvault.fhe.CompressedServerKey;
import org.medvault.fhe.FheRuntime;
import org.medvault.fhe.FheType;
import org.medvault.fhe.MedVaultException;
import org.medvault.fhe.QueryExecutor;
import org.medvault.fhe.ServerKey;
import org.medvault.query.QueryPlan;
import org.medvault.query.QueryPlanner;
import org.medvault.schema.VaultSchema;

/** Encrypted queries: plan against the vault's schema, run over every chunk, write a result file. */
public final class QueryService {
    private final Progress progress;

    public QueryService(Progress progress) {
        this.progress = progress;
    }

    /** Plans a query against a vault without running it (for --explain and validation). */
    public QueryPlan plan(Path vaultFile, String query) {
        try (VaultStore store = VaultStore.open(vaultFile)) {
            return QueryPlanner.plan(store.schema(), query, store.stats().records());
        }
    }

    public record RunResult(Path out, String query, long records, long pbs, double seconds, double pbsPerRecord,
                            double estimatedPbsPerRecord, double secondsPerRecord, String vaultDigest, String keyId,
                            Double squashSeconds) {}

    /** Runs a query with the analyst's server key (public) and writes the encrypted result. */
    public RunResult run(Path vaultFile, Path serverKeyFile, String query, Path out) {
        return run(vaultFile, serverKeyFile, query, out, 0);
    }

    /** As {@link #run(Path, Path, String, Path)} on {@code threads} workers (0: the runtime's count). */
    public RunResult run(Path vaultFile, Path serverKeyFile, String query, Path out, int threads) {
        try (VaultStore store = VaultStore.open(vaultFile)) {
            VaultSchema schema = store.schema();
            long n = store.stats().records();
            QueryPlan plan = QueryPlanner.plan(schema, query, n);
            ServerKeyFiles.Loaded key = loadServerKey(serverKeyFile, store);
            KeySetManifest.Threshold roster = key.squashing() ? store.roster() : null;
            if (roster != null) {
                warnUnreleasable(store, roster);
            }
            Evaluation ev;
            try (ServerKey sk = key.key()) {
                ev = evaluate(store, n, sk, plan, key.squashing(), threads);
            }
            return write(out, query, new Source(vaultFile.getFileName().toString(), store.digest(), store.keyId(), schema, roster),
                    plan, ev, key.squashing());
        }
    }

    /**
     * Says before the (long) evaluation when no custodian would release from this vault copy: a
     * chunk or the vault state no pinned writer signed, or a k below the roster's floor. The query
     * still runs (it is the analyst's own computation); the custodians' checks are what refuse.
     */
    private void warnUnreleasable(VaultStore store, KeySetManifest.Threshold roster) {
        try {
            store.checkReleasable(roster);
        } catch (UserException e) {
            progress.note("warning: no custodian will release a result over " + store.file() + ": " + e.getMessage());
        }
    }

    /** What a result names of the vault it was computed from. {@code roster}: null for a personal key. */
    public record Source(String vault, String digest, String keyId, VaultSchema schema, KeySetManifest.Threshold roster) {}

    /** Writes the result file of a finished evaluation (here or on a cluster) atomically. */
    public static RunResult write(Path out, String query, Source source, QueryPlan plan, Evaluation ev, boolean squashing) {
        long n = ev.records();
        KeySetManifest.Threshold roster = squashing ? source.roster() : null;
        ResultFile.Release release = roster == null ? null
                : new ResultFile.Release(roster.custodians(), roster.threshold(), roster.digest(source.keyId()));
        ResultFile rf = new ResultFile(new ResultFile.Header(query, source.vault(), source.digest(),
                source.keyId(), Instant.now().truncatedTo(ChronoUnit.SECONDS).toString(), n, plan.minCohort(), ev.types(),
                ev.pbs(), ev.seconds(), source.schema().canonicalJson(), squashing ? Boolean.TRUE : null, ev.squashSeconds(),
                release, ev.outputsDigest(source.keyId())), ev.outputs(), ev.squashed());
        AtomicFiles.write(out, rf.toBytes(), false);
        return new RunResult(out, query, n, ev.pbs(), ev.seconds(), n == 0 ? 0 : (double) ev.pbs() / n,
                plan.estimatedPbsPerRecord(), n == 0 ? 0 : ev.seconds() / n, source.digest(), source.keyId(), ev.squashSeconds());
    }

    /**
     * The encrypted (and, with a squashing key, noise-squashed) outputs of a planned query over a
     * vault: what the analyst writes and what a custodian re-derives. Canonical: the vault's chunks
     * in their canonical order, a deterministic executor, so the bytes depend only on (vault
     * digest, query, server key), never on threads or timing.
     */
    public record Evaluation(long records, List<String> types, List<byte[]> outputs, List<byte[]> squashed, long pbs,
                             double seconds, Double squashSeconds) {
        public String outputsDigest(String keyId) {
            return ResultFile.outputsDigest(keyId, types, outputs, squashed);
        }
    }

    /** @param n the vault's record count (for progress; the caller has read it to plan) */
    Evaluation evaluate(VaultStore store, long n, ServerKey sk, QueryPlan plan, boolean squashing, int threads) {
        try (QueryExecutor ex = new QueryExecutor(plan.nativePlan(), threads)) {
            long pbs0 = FheRuntime.pbsCount();
            long t0 = System.nanoTime();
            progress.begin("query", n);
            long[] done = {0};
            try {
                store.forEachChunk(c -> {
                    if (Thread.currentThread().isInterrupted()) {
                        throw new UserException("interrupted; no result written");
                    }
                    int[] slots = c.slots().stream().mapToInt(Integer::intValue).toArray();
                    ex.feed(sk, c.list(), slots);
                    done[0] += slots.length;
                    progress.advance(done[0]);
                });
            } finally {
                progress.end();
            }
            return complete(ex, sk, squashing, progress, pbs0, t0);
        }
    }

    /**
     * Finishes an executor that holds every chunk of the vault (fed here, or partial results
     * merged from a cluster): suppression, serialization and, with a squashing key, squashing.
     * {@code pbs0}/{@code t0}: the PBS counter and clock when the query began (for its report).
     */
    public static Evaluation complete(QueryExecutor ex, ServerKey sk, boolean squashing, Progress progress, long pbs0, long t0) {
        List<Ciphertext> outputs = ex.finish(sk);
        try {
            long pbs = FheRuntime.pbsCount() - pbs0;
            double seconds = (System.nanoTime() - t0) / 1e9;
            List<byte[]> bytes = new ArrayList<>();
            List<String> types = new ArrayList<>();
            for (Ciphertext c : outputs) {
                bytes.add(c.serialize());
                types.add(c.type().name());
            }
            List<byte[]> squashed = List.of();
            Double squashSeconds = null;
            if (squashing) {
                progress.note("noise-squashing " + outputs.size() + " outputs for threshold release");
                long t1 = System.nanoTime();
                squashed = ex.squash(sk, outputs);
                squashSeconds = (System.nanoTime() - t1) / 1e9;
            }
            return new Evaluation(ex.records(), types, bytes, squashed, pbs, seconds, squashSeconds);
        } finally {
            outputs.forEach(Ciphertext::close);
        }
    }

    ServerKeyFiles.Loaded loadServerKey(Path file, VaultStore store) {
        return ServerKeyFiles.load(file, store.keyId(), store.serverKeyDigest(), progress);
    }

    // ---------------------------------------------------------------- results

    public record ResultInfo(Path file, String query, String vault, String vaultDigest, String keyId, String created,
                             long records, int minCohort, int outputs, long pbs, double seconds, String digest,
                             String outputsDigest, String release) {}

    public ResultInfo info(Path resultFile) {
        byte[] bytes = AtomicFiles.read(resultFile, "result");
        ResultFile rf = ResultFile.parse(bytes, resultFile.toString());
        ResultFile.Header h = rf.header();
        String release = null;
        if (h.hasSquashedOutputs()) {
            release = String.format(java.util.Locale.ROOT, "threshold: %d squashed outputs (%.1f s to squash)%s",
                    rf.squashed().size(), h.squashSeconds() == null ? 0.0 : h.squashSeconds(), h.release() == null
                            ? "; the vault pins no custodian roster (it was created without the key set's key.json)"
                            : "; any " + h.release().threshold() + " of " + h.release().custodians() + " custodians of roster "
                                    + KeySetManifest.Threshold.fingerprintOf(h.release().roster()));
        }
        return new ResultInfo(resultFile, h.query(), h.vault(), h.vaultDigest(), h.keyId(), h.created(), h.records(),
                h.minCohort(), rf.outputs().size(), h.pbs(), h.seconds(), ResultFile.digest(bytes), h.outputsDigest(), release);
    }

    /** The first 16 hex digits of a digest and an ellipsis, for messages. */
    static String abbreviate(String hex) {
        return hex == null ? "(none)" : hex.length() > 16 ? hex.substring(0, 16) + "…" : hex;
    }

    /**
     * Released statistics over {@code records} records with cohorts under {@code minCohort}
     * suppressed; {@code signers}: the custodians whose partials released them and {@code roster}
     * the fingerprint of the roster their signatures were checked against (threshold keys only).
     */
    public record Released(Path file, String query, String keyId, long records, int minCohort,
                           List<QueryPlan.Statistic> statistics, List<Integer> signers, String roster) {}

    /** The plan rebuilt from a result's query text and stored schema; it must match the result's outputs. */
    static QueryPlan planOf(ResultFile rf, Path resultFile) {
        VaultSchema schema = VaultSchema.parse(rf.header().schema().getBytes(java.nio.charset.StandardCharsets.UTF_8),
                resultFile + " (schema)");
        QueryPlan plan = QueryPlanner.plan(schema, rf.header().query(), rf.header().records());
        if (plan.resultCount() != rf.outputs().size()) {
            throw new UserException(resultFile + " does not match its query's plan (" + rf.outputs().size() + " outputs, "
                    + plan.resultCount() + " expected)");
        }
        return plan;
    }

    /**
     * Decrypts a result with a whole (personal) client key and finishes avg/var in clear. The plan
     * is rebuilt from the query text and the schema stored in the result, and must match its outputs.
     */
    public Released decrypt(Path resultFile, Path clientKeyFile, char[] passphrase) {
        ResultFile rf = ResultFile.parse(AtomicFiles.read(resultFile, "result"), resultFile.toString());
        QueryPlan plan = planOf(rf, resultFile);
        Path ckFile = java.nio.file.Files.isDirectory(clientKeyFile) ? clientKeyFile.resolve(KeySetManifest.CLIENT_KEY) : clientKeyFile;
        byte[] sealed = AtomicFiles.read(ckFile, "client key");
        String kind = SecretKeyFile.readHeader(sealed, ckFile.toString()).kind();
        if (!org.medvault.app.keys.KeyManager.CLIENT_KEY_KIND.equals(kind)) {
            throw new UserException(ckFile + " is a " + kind + ", not a client key"
                    + (rf.header().hasSquashedOutputs() ? "; threshold results are released with 'decrypt partial' and 'decrypt combine'" : ""));
        }
        byte[] secret = SecretKeyFile.open(sealed, passphrase, ckFile.toString());
        long[] values = new long[rf.outputs().size()];
        try (ClientKey ck = ClientKey.deserialize(secret)) {
            if (!ck.keyId().equals(rf.header().keyId())) {
                throw new UserException(ckFile + " is key " + ck.keyId() + "; the result is under key " + rf.header().keyId());
            }
            for (int i = 0; i < values.length; i++) {
                String typeName = rf.header().outputTypes().get(i);
                FheType<?> type = FheType.ofName(typeName)
                        .orElseThrow(() -> new UserException(resultFile + ": unknown output type " + typeName));
                try (Ciphertext c = Ciphertext.deserialize(type, rf.outputs().get(i))) {
                    values[i] = ck.decryptValue(c);
                }
            }
        } catch (MedVaultException e) {
            throw new UserException(resultFile + ": " + e.getMessage());
        } finally {
            Arrays.fill(secret, (byte) 0);
        }
        return new Released(resultFile, rf.header().query(), rf.header().keyId(), rf.header().records(), rf.header().minCohort(),
                plan.finish(values), null, null);
    }
}
