package org.medvault.query;

import java.math.BigDecimal;
import java.math.MathContext;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import org.medvault.fhe.FheType;
import org.medvault.schema.FieldSpec;
import org.medvault.schema.VaultSchema;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;

/**
 * A query checked against a schema and bound to it: slots of the record layout, constants in
 * stored units, the encrypted outputs (deduplicated: avg and var share the count and sums), their
 * widths (chosen so no sum can overflow for the vault's size), a cost estimate, and how to turn the
 * decrypted outputs back into statistics in the fields' own units.
 */
public final class QueryPlan {
    private static final ObjectMapper JSON = new ObjectMapper();

    /**
     * One encrypted output of the plan, as the native executor knows it. For histograms,
     * {@code lower}/{@code upper} (nullable) bound the field's stored value for every record the
     * predicate keeps, so edges outside need no per-record comparison.
     */
    public record Output(String key, String kind, int slot, int bits, List<Long> edges, FieldSpec field, Long lower, Long upper) {
        public Output(String key, String kind, int slot, int bits, List<Long> edges, FieldSpec field) {
            this(key, kind, slot, bits, edges, field, null, null);
        }

        /** How many ciphertexts this output yields (histograms: one per bucket). */
        public int results() {
            return kind.equals("hist") ? edges.size() - 1 : 1;
        }
    }

    /** One SELECT item and the outputs it is computed from. */
    public record Item(Ast.Aggregate aggregate, String label, List<String> outputKeys) {}

    private final Ast.Query query;
    private final Map<String, Object> predicate;
    private final List<Output> outputs;
    private final List<Item> items;
    private final List<FheType<?>> layout;
    private final int minCohort;
    private final long records;
    private final double pbsPerRecord;
    private final List<String> costLines;

    QueryPlan(Ast.Query query, Map<String, Object> predicate, List<Output> outputs, List<Item> items,
              List<FheType<?>> layout, int minCohort, long records, double pbsPerRecord, List<String> costLines) {
        this.query = query;
        this.predicate = predicate;
        this.outputs = List.copyOf(outputs);
        this.items = List.copyOf(items);
        this.layout = layout;
        this.minCohort = minCohort;
        this.records = records;
        this.pbsPerRecord = pbsPerRecord;
        this.costLines = List.copyOf(costLines);
    }

    public Ast.Query query() {
        return query;
    }

    public List<Output> outputs() {
        return outputs;
    }

    public List<Item> items() {
        return items;
    }

    public int minCohort() {
        return minCohort;
    }

    public long records() {
        return records;
    }

    /** Estimated bootstraps per record (the cost model: docs/architecture.md, "From a CSV row to a released statistic"). */
    public double estimatedPbsPerRecord() {
        return pbsPerRecord;
    }

    public List<String> costLines() {
        return costLines;
    }

    /** Number of result ciphertexts (histograms count one per bucket). */
    public int resultCount() {
        return outputs.stream().mapToInt(Output::results).sum();
    }

    /** The plan for the native executor (JSON). */
    public String nativePlan() {
        Map<String, Object> plan = new LinkedHashMap<>();
        List<Integer> codes = new ArrayList<>();
        for (FheType<?> t : layout) {
            codes.add(List.of(FheType.BOOL, FheType.UINT8, FheType.UINT16, FheType.UINT32, FheType.UINT64).indexOf(t));
        }
        plan.put("layout", codes);
        plan.put("predicate", predicate);
        List<Map<String, Object>> outs = new ArrayList<>();
        for (Output o : outputs) {
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("kind", o.kind().equals("sumsq") ? "sum" : o.kind());
            m.put("bits", o.bits());
            if (o.slot() >= 0) {
                m.put("slot", o.slot());
            }
            if (o.edges() != null) {
                m.put("edges", o.edges());
            }
            if (o.lower() != null) {
                m.put("lower", o.lower());
            }
            if (o.upper() != null) {
                m.put("upper", o.upper());
            }
            outs.add(m);
        }
        plan.put("outputs", outs);
        plan.put("min_cohort", minCohort);
        try {
            return JSON.writeValueAsString(plan);
        } catch (JsonProcessingException e) {
            throw new IllegalStateException(e);
        }
    }

    /** A decrypted statistic: its label and value in the field's units, or suppressed. */
    public record Statistic(String label, String value, boolean suppressed, List<Bucket> buckets) {}

    public record Bucket(String range, String count, boolean suppressed) {}

    /**
     * Finishes the statistics in clear from decrypted outputs (in plan order; histograms expanded).
     * A value equal to its width's all-ones marker was suppressed homomorphically.
     */
    public List<Statistic> finish(long[] decrypted) {
        Map<String, long[]> byKey = new LinkedHashMap<>();
        Map<String, Output> outByKey = new LinkedHashMap<>();
        int i = 0;
        for (Output o : outputs) {
            long[] v = new long[o.results()];
            for (int k = 0; k < v.length; k++) {
                v[k] = decrypted[i++];
            }
            byKey.put(o.key(), v);
            outByKey.put(o.key(), o);
        }
        List<Statistic> out = new ArrayList<>();
        for (Item item : items) {
            Ast.Aggregate a = item.aggregate();
            boolean suppressed = false;
            for (String k : a.function().equals("histogram") ? List.<String>of() : item.outputKeys()) {
                if (!outByKey.get(k).kind().equals("hist") && isMarker(byKey.get(k)[0], outByKey.get(k).bits())) {
                    suppressed = true;
                }
            }
            if (suppressed) {
                out.add(new Statistic(item.label(), null, true, null));
                continue;
            }
            long n = byKey.get("count")[0];
            switch (a.function()) {
                case "count" -> out.add(new Statistic(item.label(), Long.toString(n), false, null));
                case "sum", "avg", "var" -> {
                    FieldSpec f = outByKey.get("sum:" + a.field()).field();
                    BigDecimal scale = BigDecimal.TEN.pow(f.scale());
                    BigDecimal s = new BigDecimal(Long.toUnsignedString(byKey.get("sum:" + a.field())[0]));
                    BigDecimal offset = BigDecimal.valueOf(f.offset());
                    BigDecimal sumScaled = s.add(offset.multiply(BigDecimal.valueOf(n)));
                    String value;
                    if (a.function().equals("sum")) {
                        value = sumScaled.divide(scale).stripTrailingZeros().toPlainString();
                    } else if (n == 0) {
                        value = null;
                    } else if (a.function().equals("avg")) {
                        value = round(sumScaled.divide(scale).divide(BigDecimal.valueOf(n), MathContext.DECIMAL64));
                    } else {
                        if (n < 2) {
                            value = null;
                        } else {
                            BigDecimal s2 = new BigDecimal(Long.toUnsignedString(byKey.get("sumsq:" + a.field())[0]));
                            BigDecimal nn = BigDecimal.valueOf(n);
                            // sample variance of the stored values; it does not depend on the offset
                            BigDecimal var = s2.subtract(s.multiply(s).divide(nn, MathContext.DECIMAL64))
                                    .divide(nn.subtract(BigDecimal.ONE), MathContext.DECIMAL64)
                                    .divide(scale.multiply(scale), MathContext.DECIMAL64);
                            value = round(var);
                        }
                    }
                    out.add(new Statistic(item.label(), value, false, null));
                }
                case "min", "max" -> {
                    Output o = outByKey.get(a.function() + ":" + a.field());
                    out.add(new Statistic(item.label(), n == 0 ? null : o.field().display(byKey.get(o.key())[0]), false, null));
                }
                case "histogram" -> {
                    Output o = outByKey.get(item.outputKeys().get(item.outputKeys().size() - 1));
                    long[] counts = byKey.get(o.key());
                    List<Bucket> buckets = new ArrayList<>();
                    for (int b = 0; b < counts.length; b++) {
                        String range = "[" + o.field().display(o.edges().get(b)) + ", " + o.field().display(o.edges().get(b + 1)) + ")";
                        boolean hidden = isMarker(counts[b], o.bits());
                        buckets.add(new Bucket(range, hidden ? null : Long.toString(counts[b]), hidden));
                    }
                    out.add(new Statistic(item.label(), null, false, buckets));
                }
                default -> throw new IllegalStateException(a.function());
            }
        }
        return out;
    }

    static boolean isMarker(long v, int bits) {
        return bits == 64 ? v == -1L : v == (1L << bits) - 1;
    }

    private static String round(BigDecimal v) {
        return v.round(new MathContext(6)).stripTrailingZeros().toPlainString();
    }
}
