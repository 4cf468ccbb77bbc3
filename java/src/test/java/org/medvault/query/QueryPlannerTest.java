package org.medvault.query;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;

import java.util.List;
import java.util.Map;

import org.junit.jupiter.api.Test;

/** The planner's interval analysis, on native predicates (stored units), without FHE. */
class QueryPlannerTest {
    static Map<String, Object> cmp(int slot, String op, long c) {
        return Map.of("op", "cmp", "slot", slot, "cmp", op, "c", c);
    }

    @Test
    void intervalsFollowAndOrAndComparisons() {
        long max = Long.MAX_VALUE;
        assertArrayEquals(new long[] {65, max}, QueryPlanner.implied(cmp(0, "ge", 65), 0));
        assertArrayEquals(new long[] {66, max}, QueryPlanner.implied(cmp(0, "gt", 65), 0));
        assertArrayEquals(new long[] {0, 64}, QueryPlanner.implied(cmp(0, "lt", 65), 0));
        assertArrayEquals(new long[] {0, max}, QueryPlanner.implied(cmp(0, "ne", 65), 0));
        assertArrayEquals(new long[] {0, max}, QueryPlanner.implied(cmp(1, "ge", 65), 0), "another field says nothing");
        Map<String, Object> and = Map.of("op", "and", "args", List.of(cmp(0, "ge", 65), cmp(1, "eq", 2),
                Map.of("op", "between", "slot", 0, "lo", 10L, "hi", 90L)));
        assertArrayEquals(new long[] {65, 90}, QueryPlanner.implied(and, 0));
        Map<String, Object> or = Map.of("op", "or", "args", List.of(cmp(0, "le", 20), Map.of("op", "in", "slot", 0,
                "values", List.of(40L, 50L))));
        assertArrayEquals(new long[] {0, 50}, QueryPlanner.implied(or, 0));
        assertArrayEquals(new long[] {0, max}, QueryPlanner.implied(Map.of("op", "not", "arg", cmp(0, "ge", 65)), 0));
        assertArrayEquals(new long[] {0, max}, QueryPlanner.implied(Map.of("op", "true"), 0));
    }
}
