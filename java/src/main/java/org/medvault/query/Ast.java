package org.medvault.query;

import java.util.List;

/** The parsed query, before it is checked against a schema. Positions are character offsets. */
public final class Ast {
    private Ast() {}

    /** A clear constant as written: a number, or a quoted or bare code/word. */
    public record Constant(String text, int pos) {}

    public sealed interface Pred permits Cmp, Between, In, And, Or, Not, BoolField {}

    /** {@code field op constant}, op one of = != < <= > >=. */
    public record Cmp(String field, int fieldPos, String op, Constant value) implements Pred {}

    public record Between(String field, int fieldPos, Constant lo, Constant hi) implements Pred {}

    public record In(String field, int fieldPos, List<Constant> values, boolean negated) implements Pred {}

    public record And(Pred left, Pred right) implements Pred {}

    public record Or(Pred left, Pred right) implements Pred {}

    public record Not(Pred inner) implements Pred {}

    /** A boolean field on its own: {@code smoker} means {@code smoker = true}. */
    public record BoolField(String field, int fieldPos) implements Pred {}

    /** count(*), sum(f), avg(f), var(f), min(f), max(f), histogram(f, lo, hi, n). */
    public record Aggregate(String function, String field, int pos, Constant lo, Constant hi, Constant buckets) {
        public String label() {
            return switch (function) {
                case "count" -> "count(*)";
                case "histogram" -> "histogram(" + field + ", " + lo.text() + ", " + hi.text() + ", " + buckets.text() + ")";
                default -> function + "(" + field + ")";
            };
        }
    }

    public record Query(String text, List<Aggregate> select, Pred where) {}
}
