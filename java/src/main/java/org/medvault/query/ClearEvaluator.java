package org.medvault.query;

import java.math.BigDecimal;
import java.math.MathContext;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import org.medvault.schema.FieldSpec;
import org.medvault.schema.VaultSchema;

/**
 * The reference: evaluates a query on clear records, in the fields' own units (decimals as
 * decimals, categories as codes), with the same suppression policy. It shares only the parser and
 * the codec's cell normalisation (defaults, rounding) with the encrypted path, so it checks the
 * planner, the native executor and the finishing arithmetic.
 */
public final class ClearEvaluator {
    private ClearEvaluator() {}

    /** A clear record: field name to its value as written in the input. */
    public static List<QueryPlan.Statistic> evaluate(VaultSchema schema, String query, List<Map<String, String>> rows) {
        Ast.Query q = QueryParser.parse(query);
        QueryPlanner.plan(schema, query, rows.size()); // same validation as the encrypted path
        List<Map<String, String>> normal = new ArrayList<>();
        for (Map<String, String> r : rows) {
            normal.add(normalise(schema, r));
        }
        List<Map<String, String>> cohort = new ArrayList<>();
        for (Map<String, String> r : normal) {
            if (q.where() == null || test(schema, q.where(), r)) {
                cohort.add(r);
            }
        }
        int k = schema.minCohort();
        boolean hidden = cohort.size() < k;
        List<QueryPlan.Statistic> out = new ArrayList<>();
        for (Ast.Aggregate a : q.select()) {
            if (hidden && !a.function().equals("histogram")) {
                out.add(new QueryPlan.Statistic(a.label(), null, true, null));
                continue;
            }
            int n = cohort.size();
            switch (a.function()) {
                case "count" -> out.add(new QueryPlan.Statistic(a.label(), Integer.toString(n), false, null));
                case "sum", "avg", "var" -> {
                    BigDecimal s = BigDecimal.ZERO;
                    BigDecimal s2 = BigDecimal.ZERO;
                    for (Map<String, String> r : cohort) {
                        BigDecimal x = new BigDecimal(r.get(a.field()));
                        s = s.add(x);
                        s2 = s2.add(x.multiply(x));
                    }
                    String v;
                    if (a.function().equals("sum")) {
                        v = s.stripTrailingZeros().toPlainString();
                    } else if (a.function().equals("avg")) {
                        v = n == 0 ? null : round(s.divide(BigDecimal.valueOf(n), MathContext.DECIMAL64));
                    } else {
                        v = n < 2 ? null : round(s2.subtract(s.multiply(s).divide(BigDecimal.valueOf(n), MathContext.DECIMAL64))
                                .divide(BigDecimal.valueOf(n - 1), MathContext.DECIMAL64));
                    }
                    out.add(new QueryPlan.Statistic(a.label(), v, false, null));
                }
                case "min", "max" -> {
                    BigDecimal best = null;
                    for (Map<String, String> r : cohort) {
                        BigDecimal x = new BigDecimal(r.get(a.field()));
                        if (best == null || (a.function().equals("min") ? x.compareTo(best) < 0 : x.compareTo(best) > 0)) {
                            best = x;
                        }
                    }
                    out.add(new QueryPlan.Statistic(a.label(), best == null ? null : best.toPlainString(), false, null));
                }
                case "histogram" -> {
                    BigDecimal lo = new BigDecimal(a.lo().text());
                    BigDecimal hi = new BigDecimal(a.hi().text());
                    int buckets = Integer.parseInt(a.buckets().text());
                    BigDecimal w = hi.subtract(lo).divide(BigDecimal.valueOf(buckets));
                    FieldSpec f = schema.field(a.field());
                    List<String> ranges = new ArrayList<>();
                    List<Integer> counts = new ArrayList<>();
                    for (int b = 0; b < buckets; b++) {
                        BigDecimal from = lo.add(w.multiply(BigDecimal.valueOf(b)));
                        BigDecimal to = from.add(w);
                        int c = 0;
                        for (Map<String, String> r : cohort) {
                            BigDecimal x = new BigDecimal(r.get(a.field()));
                            if (x.compareTo(from) >= 0 && x.compareTo(to) < 0) {
                                c++;
                            }
                        }
                        ranges.add("[" + scaled(f, from) + ", " + scaled(f, to) + ")");
                        counts.add(c);
                    }
                    // Primary: a bucket of 1..k−1 records is hidden (an empty one names nobody).
                    // Secondary: hidden buckets that together hold fewer than k records would show
                    // as the count minus the visible buckets, so then all buckets are hidden.
                    int smallMass = counts.stream().filter(c -> c > 0 && c < k).mapToInt(Integer::intValue).sum();
                    boolean fragile = smallMass > 0 && smallMass < k;
                    List<QueryPlan.Bucket> bs = new ArrayList<>();
                    for (int b = 0; b < buckets; b++) {
                        int c = counts.get(b);
                        boolean hide = hidden || (c > 0 && c < k) || fragile;
                        bs.add(new QueryPlan.Bucket(ranges.get(b), hide ? null : Integer.toString(c), hide));
                    }
                    out.add(new QueryPlan.Statistic(a.label(), null, false, bs));
                }
                default -> throw new IllegalStateException(a.function());
            }
        }
        return out;
    }

    private static String scaled(FieldSpec f, BigDecimal v) {
        return v.setScale(f.scale()).toPlainString();
    }

    private static String round(BigDecimal v) {
        return v.round(new MathContext(6)).stripTrailingZeros().toPlainString();
    }

    /** Applies the codec's normalisation (default, rounding) and returns values in field units. */
    private static Map<String, String> normalise(VaultSchema schema, Map<String, String> raw) {
        Map<String, String> out = new java.util.HashMap<>();
        for (FieldSpec f : schema.fields()) {
            try {
                out.put(f.name(), f.display(f.encode(raw.get(f.name()))));
            } catch (FieldSpec.ValueException e) {
                throw new IllegalArgumentException("reference rows must be valid: " + f.name() + ": " + e.getMessage());
            }
        }
        return out;
    }

    private static boolean test(VaultSchema schema, Ast.Pred p, Map<String, String> r) {
        if (p instanceof Ast.And a) {
            return test(schema, a.left(), r) && test(schema, a.right(), r);
        }
        if (p instanceof Ast.Or o) {
            return test(schema, o.left(), r) || test(schema, o.right(), r);
        }
        if (p instanceof Ast.Not n) {
            return !test(schema, n.inner(), r);
        }
        if (p instanceof Ast.BoolField b) {
            return r.get(b.field()).equals("true");
        }
        if (p instanceof Ast.Cmp c) {
            int cmp = compare(schema.field(c.field()), r.get(c.field()), c.value().text());
            return switch (c.op()) {
                case "=" -> cmp == 0;
                case "!=" -> cmp != 0;
                case "<" -> cmp < 0;
                case "<=" -> cmp <= 0;
                case ">" -> cmp > 0;
                default -> cmp >= 0;
            };
        }
        if (p instanceof Ast.Between b) {
            FieldSpec f = schema.field(b.field());
            return compare(f, r.get(b.field()), b.lo().text()) >= 0 && compare(f, r.get(b.field()), b.hi().text()) <= 0;
        }
        if (p instanceof Ast.In in) {
            boolean any = false;
            for (Ast.Constant c : in.values()) {
                any |= compare(schema.field(in.field()), r.get(in.field()), c.text()) == 0;
            }
            return in.negated() != any;
        }
        throw new IllegalStateException(p.toString());
    }

    private static int compare(FieldSpec f, String value, String constant) {
        return switch (f.kind()) {
            case UINT, DECIMAL -> new BigDecimal(value).compareTo(new BigDecimal(constant));
            case CATEGORY -> value.equals(constant) ? 0 : 1;
            case BOOL -> Boolean.parseBoolean(value) == boolConst(constant) ? 0 : 1;
        };
    }

    private static boolean boolConst(String c) {
        return switch (c.toLowerCase(java.util.Locale.ROOT)) {
            case "true", "1", "yes", "t", "y" -> true;
            default -> false;
        };
    }
}
