package org.medvault.app.query;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeSet;

import org.medvault.app.AtomicFiles;
import org.medvault.app.UserException;
import org.medvault.app.keys.CustodianShare;
import org.medvault.app.keys.KeySetManifest;
import org.medvault.fhe.MedVaultException;
import org.medvault.fhe.Threshold;
import org.medvault.query.QueryPlan;

/**
 * Threshold release of a query result: each custodian of the signer set computes a signed partial
 * decryption with their share ({@link #partial}); any t partials of one signer set release the
 * statistics ({@link #combine}). The result file carries the noise-squashed outputs, squashed once
 * by the analyst: every custodian then decrypts byte-identical ciphertexts, and none needs the
 * 900 MB squashing server key or a bootstrap.
 */
public final class ReleaseService {
    /** Domain separation for the PRF context the flooding noise is bound to. */
    private static final String CONTEXT = "medvault-partial/1";

    public record PartialResult(Path out, int custodian, List<Integer> signers, String keyId, String resultDigest,
                                String query, int outputs, int blocks, double seconds) {}

    /**
     * Custodian's partial decryption of {@code resultFile} for {@code signers} (exactly t custodian
     * indices, including the holder of {@code shareFile}), written to {@code out}, or when null to
     * {@code RESULT.partial-<i>.mvp} beside the result (i the share's custodian).
     */
    public PartialResult partial(Path shareFile, char[] passphrase, Path resultFile, List<Integer> signers, Path out) {
        long t0 = System.nanoTime();
        byte[] resultBytes = AtomicFiles.read(resultFile, "result");
        ResultFile rf = threshold(resultBytes, resultFile);
        String digest = ResultFile.digest(resultBytes);
        CustodianShare share = CustodianShare.open(AtomicFiles.read(shareFile, "custodian share"), passphrase, shareFile.toString());
        try {
            String shareKey = share.keyId();
            if (!shareKey.equals(rf.header().keyId())) {
                throw new UserException(shareFile + " is a share of key " + shareKey + "; " + resultFile + " is under key "
                        + rf.header().keyId());
            }
            byte[] s = share.share();
            int[] info;
            try {
                info = Threshold.shareInfo(s);
            } catch (MedVaultException e) {
                throw new UserException(shareFile + ": " + e.getMessage());
            }
            if (info[0] != share.index()) {
                throw new UserException(shareFile + " is labelled custodian " + share.index() + " but holds custodian "
                        + info[0] + "'s share");
            }
            int n = info[1];
            int t = info[2];
            List<Integer> set = signerSet(signers, n, t, "--signers");
            if (!set.contains(share.index())) {
                throw UserException.usage("--signers " + join(set) + " does not include custodian " + share.index()
                        + ", the holder of " + shareFile);
            }
            KeySetManifest.Threshold named = rf.header().custodians();
            if (named != null && (named.custodians() != n || named.threshold() != t)) {
                throw new UserException(resultFile + " names a " + named.threshold() + "-of-" + named.custodians()
                        + " key; " + shareFile + " is a share of a " + t + "-of-" + n + " key");
            }
            byte[] nativePartial;
            try {
                nativePartial = Threshold.partial(s, set.stream().mapToInt(Integer::intValue).toArray(),
                        context(rf.header().keyId(), digest), rf.squashed());
            } catch (MedVaultException e) {
                throw new UserException(resultFile + ": " + e.getMessage());
            }
            List<Integer> blocks = PartialFile.blockCounts(nativePartial);
            Path target = out != null ? out
                    : resultFile.toAbsolutePath().resolveSibling(resultFile.getFileName() + ".partial-" + share.index() + ".mvp");
            PartialFile.Header h = new PartialFile.Header(rf.header().keyId(), digest, rf.header().query(), share.index(),
                    n, t, set, blocks);
            byte[] unsigned = PartialFile.unsigned(h, nativePartial);
            AtomicFiles.write(target, PartialFile.withSignature(unsigned, share.sign(unsigned)), false);
            return new PartialResult(target, share.index(), set, rf.header().keyId(), digest, rf.header().query(),
                    blocks.size(), blocks.stream().mapToInt(Integer::intValue).sum(), (System.nanoTime() - t0) / 1e9);
        } finally {
            share.wipe();
        }
    }

    /**
     * Verifies every partial (signature by the custodian key.json names, key id, result digest,
     * threshold, signer set), then combines exactly t of them. Custodian keys come from
     * {@code keysOrNull} (a key directory or key.json) when given, else from the result file;
     * when both are present they must agree.
     */
    public QueryService.Released combine(Path resultFile, List<Path> partialFiles, Path keysOrNull) {
        byte[] resultBytes = AtomicFiles.read(resultFile, "result");
        ResultFile rf = threshold(resultBytes, resultFile);
        String digest = ResultFile.digest(resultBytes);
        String keyId = rf.header().keyId();
        KeySetManifest.Threshold custodians = custodians(rf, resultFile, keysOrNull);
        int t = custodians.threshold();

        Map<Integer, Path> seen = new HashMap<>();
        List<Integer> set = null;
        Path setFrom = null;
        List<byte[]> natives = new ArrayList<>();
        for (Path p : partialFiles) {
            PartialFile pf = PartialFile.parse(AtomicFiles.read(p, "partial decryption"), p.toString());
            PartialFile.Header h = pf.header();
            if (h.custodian() < 1 || h.custodian() > custodians.custodians()) {
                throw new UserException(p + " claims custodian " + h.custodian() + "; the key has custodians 1.."
                        + custodians.custodians());
            }
            if (!h.keyId().equals(keyId)) {
                throw new UserException(p + " is a partial of key " + h.keyId() + "; " + resultFile + " is under key " + keyId);
            }
            if (!h.resultDigest().equals(digest)) {
                throw new UserException(p + " is a partial of another result (sha256 " + abbreviate(h.resultDigest())
                        + "); " + resultFile + " is " + abbreviate(digest));
            }
            // Bindings first (the clearer message), then the signature that makes them authentic.
            if (!CustodianShare.verify(custodians.member(h.custodian()).signingKey(), pf.signed(), pf.signature())) {
                throw new UserException(p + ": the signature does not verify against custodian " + h.custodian()
                        + "'s key; the file was altered or not made by that custodian");
            }
            if (h.custodians() != custodians.custodians() || h.threshold() != t) {
                throw new UserException(p + " is for a " + h.threshold() + "-of-" + h.custodians() + " key; this one is "
                        + t + "-of-" + custodians.custodians());
            }
            Path dup = seen.put(h.custodian(), p);
            if (dup != null) {
                throw new UserException(p + " and " + dup + " are both from custodian " + h.custodian()
                        + "; each custodian counts once");
            }
            List<Integer> hs = signerSet(h.signers(), custodians.custodians(), t, p + " signer set");
            if (set == null) {
                set = hs;
                setFrom = p;
            } else if (!set.equals(hs)) {
                throw new UserException("mixed signer sets: " + setFrom + " is for custodians " + join(set) + ", " + p
                        + " for " + join(hs) + "; all partials must name the same set");
            }
            natives.add(pf.partial());
        }
        if (natives.size() < t) {
            throw new UserException(natives.size() + " partial decryption(s); this key needs " + t
                    + " — nothing was released" + (set == null ? "" : " (missing: custodians "
                    + join(set.stream().filter(i -> !seen.containsKey(i)).toList()) + ")"));
        }
        long[] values;
        try {
            values = Threshold.combine(rf.squashed(), natives);
        } catch (MedVaultException e) {
            throw new UserException(resultFile + ": cannot combine the partials: " + e.getMessage());
        }
        QueryPlan plan = QueryService.planOf(rf, resultFile);
        return new QueryService.Released(resultFile, rf.header().query(), keyId, rf.header().records(),
                plan.finish(values), set);
    }

    private static ResultFile threshold(byte[] bytes, Path file) {
        ResultFile rf = ResultFile.parse(bytes, file.toString());
        if (!rf.header().isSquashed()) {
            throw new UserException(file + " was computed with a server key without noise squashing: it is for a personal key"
                    + " (medvault decrypt --key), not for threshold release");
        }
        return rf;
    }

    private static KeySetManifest.Threshold custodians(ResultFile rf, Path resultFile, Path keysOrNull) {
        KeySetManifest.Threshold fromResult = rf.header().custodians();
        if (keysOrNull == null) {
            if (fromResult == null) {
                throw UserException.usage(resultFile + " does not name its custodians; give --keys DIR (the key set's key.json)");
            }
            return fromResult;
        }
        Path manifest = Files.isDirectory(keysOrNull) ? keysOrNull.resolve(KeySetManifest.FILE_NAME) : keysOrNull;
        KeySetManifest m = KeySetManifest.parse(AtomicFiles.read(manifest, "key manifest"), manifest.toString());
        if (!m.keyId().equals(rf.header().keyId())) {
            throw new UserException(manifest + " describes key " + m.keyId() + "; " + resultFile + " is under key "
                    + rf.header().keyId());
        }
        if (!m.isThreshold()) {
            throw new UserException(manifest + " is a personal key set, not a threshold one");
        }
        if (fromResult != null && !fromResult.equals(m.threshold())) {
            throw new UserException(resultFile + " names other custodian keys than " + manifest + "; refusing to trust either");
        }
        return m.threshold();
    }

    /** Sorted, distinct, exactly t indices in 1..n. */
    static List<Integer> signerSet(List<Integer> signers, int n, int t, String what) {
        TreeSet<Integer> set = new TreeSet<>(signers);
        if (set.size() != signers.size()) {
            throw UserException.usage(what + " " + join(signers) + " names a custodian twice");
        }
        for (int i : set) {
            if (i < 1 || i > n) {
                throw UserException.usage(what + ": custodian " + i + " outside 1.." + n);
            }
        }
        if (set.size() != t) {
            throw UserException.usage(what + " " + join(signers) + " has " + set.size() + " custodian(s); this key needs exactly " + t);
        }
        return List.copyOf(set);
    }

    private static byte[] context(String keyId, String resultDigest) {
        return (CONTEXT + "\0" + keyId + "\0" + resultDigest).getBytes(StandardCharsets.UTF_8);
    }

    private static String abbreviate(String hex) {
        return hex.length() > 16 ? hex.substring(0, 16) + "…" : hex;
    }

    private static String join(List<Integer> xs) {
        return String.join(",", xs.stream().map(String::valueOf).toList());
    }
}
