package org.medvault.query;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

import org.medvault.fhe.FheType;
import org.medvault.schema.FieldSpec;
import org.medvault.schema.VaultSchema;

/** Checks a parsed query against a schema and binds it into a {@link QueryPlan}. */
public final class QueryPlanner {
    private final VaultSchema schema;
    private final Map<String, Integer> slotOf = new LinkedHashMap<>();
    private final List<FheType<?>> layout;
    private final List<String> cost = new ArrayList<>();
    private double pbs;
    /** Slots whose cond·x is already computed per record (shared by sums, max and histograms). */
    private final java.util.Set<Integer> masked = new java.util.HashSet<>();

    private QueryPlanner(VaultSchema schema) {
        this.schema = schema;
        this.layout = schema.recordLayout();
        int slot = 0;
        for (FieldSpec f : schema.fields()) {
            slotOf.put(f.name(), slot++);
            if (f.hasSquare()) {
                slotOf.put(f.name() + "^2", slot++);
            }
        }
    }

    /** @param records how many records the vault holds (sizes the accumulators) */
    public static QueryPlan plan(VaultSchema schema, String text, long records) {
        Ast.Query q = QueryParser.parse(text);
        return new QueryPlanner(schema).bind(q, Math.max(1, records));
    }

    private QueryPlan bind(Ast.Query q, long n) {
        Map<String, Object> pred = q.where() == null ? Map.of("op", "true") : pred(q.where());
        if (q.where() == null) {
            cost.add("predicate: none (every record)");
        }
        Map<String, QueryPlan.Output> outputs = new LinkedHashMap<>();
        int countBits = bitsFor(n);
        outputs.put("count", new QueryPlan.Output("count", "count", -1, countBits, null, null));
        addCost("count(*)", 0.67 * 1);
        List<QueryPlan.Item> items = new ArrayList<>();
        for (Ast.Aggregate a : q.select()) {
            List<String> keys = new ArrayList<>();
            keys.add("count");
            if (!a.function().equals("count")) {
                FieldSpec f = field(a.field(), a.pos());
                switch (a.function()) {
                    case "sum", "avg", "var" -> {
                        numeric(f, a);
                        keys.add(sum(outputs, "sum:" + f.name(), f, slotOf.get(f.name()), f.maxStored(), n, "sum"));
                        if (a.function().equals("var")) {
                            if (!f.hasSquare()) {
                                throw new QueryException("var(" + f.name() + ") needs x² stored at ingestion; the schema sets \"square\": false", a.pos());
                            }
                            keys.add(sum(outputs, "sumsq:" + f.name(), f, slotOf.get(f.name() + "^2"),
                                    f.maxStored() * f.maxStored(), n, "sumsq"));
                        }
                    }
                    case "min", "max" -> {
                        numeric(f, a);
                        String key = a.function() + ":" + f.name();
                        if (!outputs.containsKey(key)) {
                            int bits = f.storedType().bits();
                            if (f.maxStored() >= (bits == 64 ? Long.MAX_VALUE : (1L << bits) - 1)) {
                                bits = Math.min(64, bits * 2); // keep the all-ones marker distinct from any value
                            }
                            int slot = slotOf.get(f.name());
                            outputs.put(key, new QueryPlan.Output(key, a.function(), slot, bits, null, f));
                            int b = bits / 2;
                            double zero = a.function().equals("max") ? maskCost(slot) : b;
                            addCost(a.function() + "(" + f.name() + ") (zero-out + max tree)", zero + (4.0 * b + 1));
                        }
                        keys.add(key);
                    }
                    case "histogram" -> keys.add(histogram(outputs, a, f, countBits, pred));
                    default -> throw new QueryException("unknown aggregate " + a.function(), a.pos());
                }
            }
            items.add(new QueryPlan.Item(a, a.label(), keys));
        }
        return new QueryPlan(q, pred, new ArrayList<>(outputs.values()), items, layout, schema.minCohort(), n, pbs, cost);
    }

    private void addCost(String what, double perRecord) {
        pbs += perRecord;
        cost.add(String.format(Locale.ROOT, "%-40s %6.1f PBS/record", what, perRecord));
    }

    /** PBS to compute cond·x for a slot the first time (one per block); later uses are free. */
    private double maskCost(int slot) {
        if (!masked.add(slot)) {
            return 0;
        }
        FheType<?> t = layout.get(slot);
        return t == FheType.BOOL ? 1 : t.bits() / 2.0;
    }

    private String sum(Map<String, QueryPlan.Output> outputs, String key, FieldSpec f, int slot, long maxTerm, long n, String kind) {
        if (!outputs.containsKey(key)) {
            double bound = (double) maxTerm * n;
            if (bound >= 1.8e19) {
                throw new QueryException("the vault is too large for an exact " + key + " (over 2^64)", -1);
            }
            int bits = bitsFor(maxTerm * n);
            outputs.put(key, new QueryPlan.Output(key, kind, slot, bits, null, f));
            int blocks = layout.get(slot).bits() / 2;
            addCost((kind.equals("sumsq") ? "Σx² " : "Σx ") + f.name() + " (zero-out + deferred-carry sum)",
                    maskCost(slot) + blocks * 0.67);
        }
        return key;
    }

    /**
     * The interval [lo, hi] of stored values of {@code slot} that every record satisfying the native
     * predicate {@code p} lies in (interval analysis: AND intersects, OR takes the hull, anything
     * else says nothing). Exact: it reads the same stored-unit constants the executor compares.
     */
    @SuppressWarnings("unchecked")
    static long[] implied(Map<String, Object> p, int slot) {
        long[] all = {0, Long.MAX_VALUE};
        String op = (String) p.get("op");
        switch (op) {
            case "and", "or" -> {
                long[] acc = null;
                for (Map<String, Object> arg : (List<Map<String, Object>>) p.get("args")) {
                    long[] r = implied(arg, slot);
                    acc = acc == null ? r : op.equals("and")
                            ? new long[] {Math.max(acc[0], r[0]), Math.min(acc[1], r[1])}
                            : new long[] {Math.min(acc[0], r[0]), Math.max(acc[1], r[1])};
                }
                return acc == null ? all : acc;
            }
            case "cmp", "between", "in" -> {
                if (((Number) p.get("slot")).intValue() != slot) {
                    return all;
                }
                if (op.equals("between")) {
                    return new long[] {((Number) p.get("lo")).longValue(), ((Number) p.get("hi")).longValue()};
                }
                if (op.equals("in")) {
                    List<Number> vs = (List<Number>) p.get("values");
                    return new long[] {vs.stream().mapToLong(Number::longValue).min().orElse(0),
                        vs.stream().mapToLong(Number::longValue).max().orElse(Long.MAX_VALUE)};
                }
                long c = ((Number) p.get("c")).longValue();
                return switch ((String) p.get("cmp")) {
                    case "eq" -> new long[] {c, c};
                    case "ge" -> new long[] {c, Long.MAX_VALUE};
                    case "gt" -> new long[] {c + 1, Long.MAX_VALUE};
                    case "le" -> new long[] {0, c};
                    case "lt" -> new long[] {0, c - 1};
                    default -> all; // ne
                };
            }
            default -> {
                return all; // true, not
            }
        }
    }

    private String histogram(Map<String, QueryPlan.Output> outputs, Ast.Aggregate a, FieldSpec f, int countBits,
                             Map<String, Object> pred) {
        numeric(f, a);
        long lo = stored(f, a.lo(), "histogram lower bound");
        long hi = stored(f, a.hi(), "histogram upper bound");
        long buckets;
        try {
            buckets = Long.parseLong(a.buckets().text());
        } catch (NumberFormatException e) {
            throw new QueryException("the bucket count must be a whole number", a.buckets().pos());
        }
        if (buckets < 1 || buckets > 64) {
            throw new QueryException("between 1 and 64 buckets", a.buckets().pos());
        }
        if (hi <= lo || (hi - lo) % buckets != 0) {
            throw new QueryException("histogram bounds must satisfy lo < hi with (hi - lo) divisible by the bucket count",
                    a.hi().pos());
        }
        List<Long> edges = new ArrayList<>();
        long w = (hi - lo) / buckets;
        for (long e = lo; e <= hi; e += w) {
            edges.add(e);
        }
        String key = "hist:" + f.name() + ":" + lo + ":" + hi + ":" + buckets;
        if (!outputs.containsKey(key)) {
            int slot = slotOf.get(f.name());
            long[] range = implied(pred, slot);
            Long lower = range[0] > 0 ? range[0] : null;
            Long upper = range[1] < Long.MAX_VALUE ? Math.max(0, range[1]) : null; // < 0: an empty cohort
            outputs.put(key, new QueryPlan.Output(key, "hist", slot, countBits, edges, f, lower, upper));
            int b = f.storedType().bits() / 2;
            long real = edges.stream().filter(e -> e > range[0] && e <= range[1]).count();
            String implied = real < edges.size()
                    ? "; " + (edges.size() - real) + " edges follow from WHERE" : "";
            addCost(a.label() + " (" + real + " thresholds on cond·x" + implied + ")",
                    real == 0 ? 0 : maskCost(slot) + real * (cmpCost(b) + 0.67));
        }
        return key;
    }

    private FieldSpec field(String name, int pos) {
        FieldSpec f = schema.field(name);
        if (f == null) {
            List<String> names = schema.fields().stream().map(FieldSpec::name).toList();
            throw new QueryException("unknown field '" + name + "' (fields: " + String.join(", ", names) + ")", pos);
        }
        return f;
    }

    private static void numeric(FieldSpec f, Ast.Aggregate a) {
        if (!f.isNumeric()) {
            throw new QueryException(a.function() + "(" + f.name() + "): " + f.name() + " is a " + f.kind().name().toLowerCase(Locale.ROOT)
                    + ", not a number", a.pos());
        }
    }

    private static long stored(FieldSpec f, Ast.Constant c, String what) {
        try {
            return f.storedValueOf(c.text());
        } catch (FieldSpec.ValueException e) {
            throw new QueryException(what + " for " + f.name() + ": " + e.getMessage(), c.pos());
        }
    }

    static int bitsFor(long maxValue) {
        // strictly below all-ones, which marks a suppressed output
        for (int bits : new int[] {8, 16, 32}) {
            if (maxValue < (1L << bits) - 1) {
                return bits;
            }
        }
        return 64;
    }

    /** PBS of a scalar comparison on b blocks (measured shape: packed pairs, then a group pass). */
    static double cmpCost(int blocks) {
        if (blocks <= 1) {
            return 1;
        }
        int packed = (blocks + 1) / 2;
        return packed + Math.ceil(packed / 4.0);
    }

    private Map<String, Object> leaf(String op, int slot, Object... kv) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("op", op);
        m.put("slot", slot);
        for (int i = 0; i < kv.length; i += 2) {
            m.put((String) kv[i], kv[i + 1]);
        }
        return m;
    }

    private Map<String, Object> pred(Ast.Pred p) {
        if (p instanceof Ast.And a) {
            Map<String, Object> l = pred(a.left());
            Map<String, Object> r = pred(a.right());
            addCost("AND", 1);
            return Map.of("op", "and", "args", List.of(l, r));
        }
        if (p instanceof Ast.Or o) {
            Map<String, Object> l = pred(o.left());
            Map<String, Object> r = pred(o.right());
            addCost("OR", 1);
            return Map.of("op", "or", "args", List.of(l, r));
        }
        if (p instanceof Ast.Not n) {
            return Map.of("op", "not", "arg", pred(n.inner()));
        }
        if (p instanceof Ast.BoolField b) {
            FieldSpec f = field(b.field(), b.fieldPos());
            if (f.kind() != FieldSpec.Kind.BOOL) {
                throw new QueryException("'" + f.name() + "' is not a boolean; compare it with a value", b.fieldPos());
            }
            addCost(f.name(), 1);
            return leaf("cmp", slotOf.get(f.name()), "cmp", "eq", "c", 1L);
        }
        if (p instanceof Ast.Cmp c) {
            FieldSpec f = field(c.field(), c.fieldPos());
            if (!f.isNumeric() && !c.op().equals("=") && !c.op().equals("!=")) {
                throw new QueryException("'" + c.op() + "' needs a number; " + f.name() + " is a "
                        + f.kind().name().toLowerCase(Locale.ROOT) + " (use = , != or IN)", c.value().pos());
            }
            long v = stored(f, c.value(), "constant");
            String op = switch (c.op()) {
                case "=" -> "eq";
                case "!=" -> "ne";
                case "<" -> "lt";
                case "<=" -> "le";
                case ">" -> "gt";
                default -> "ge";
            };
            addCost(f.name() + " " + c.op() + " " + c.value().text(), cmpCost(blocks(f)));
            return leaf("cmp", slotOf.get(f.name()), "cmp", op, "c", v, "bits", narrowBits(f));
        }
        if (p instanceof Ast.Between b) {
            FieldSpec f = field(b.field(), b.fieldPos());
            if (!f.isNumeric()) {
                throw new QueryException("BETWEEN needs a number; " + f.name() + " is a " + f.kind().name().toLowerCase(Locale.ROOT),
                        b.fieldPos());
            }
            long lo = stored(f, b.lo(), "lower bound");
            long hi = stored(f, b.hi(), "upper bound");
            if (lo > hi) {
                throw new QueryException("BETWEEN bounds are reversed", b.lo().pos());
            }
            addCost(f.name() + " BETWEEN " + b.lo().text() + " AND " + b.hi().text(), 2 * cmpCost(blocks(f)) + 1);
            return leaf("between", slotOf.get(f.name()), "lo", lo, "hi", hi, "bits", narrowBits(f));
        }
        if (p instanceof Ast.In in) {
            FieldSpec f = field(in.field(), in.fieldPos());
            List<Long> values = new ArrayList<>();
            for (Ast.Constant c : in.values()) {
                values.add(stored(f, c, "IN value"));
            }
            addCost(f.name() + " IN (" + values.size() + " values)", values.size() * cmpCost(blocks(f)) + values.size() - 1);
            Map<String, Object> m = leaf("in", slotOf.get(f.name()), "values", values, "bits", narrowBits(f));
            return in.negated() ? Map.of("op", "not", "arg", m) : m;
        }
        throw new IllegalStateException(p.toString());
    }

    /** Blocks a comparison on this field works on (after narrowing to the bits its values need). */
    private static int blocks(FieldSpec f) {
        if (f.storedType() == FheType.BOOL) {
            return 1;
        }
        int narrow = narrowBits(f);
        return (narrow == 0 ? f.storedType().bits() : narrow) / 2;
    }

    /**
     * The even number of bits the field's stored values need, when below the stored width (0
     * otherwise): a sex code of 3 values compares as a 1-block FheUint2, bmi (0..600) as FheUint10.
     */
    static int narrowBits(FieldSpec f) {
        if (f.storedType() == FheType.BOOL) {
            return 0;
        }
        int need = Math.max(1, 64 - Long.numberOfLeadingZeros(f.maxStored()));
        int even = need + (need % 2);
        return even < f.storedType().bits() && even <= 16 ? even : 0;
    }
}
