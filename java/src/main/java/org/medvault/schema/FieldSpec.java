package org.medvault.schema;

import java.math.BigDecimal;
import java.math.RoundingMode;
import java.util.List;
import java.util.Locale;

import org.medvault.fhe.FheType;

import com.fasterxml.jackson.databind.JsonNode;

/**
 * One schema field and its codec: the clear value as written in the input (its own units: years,
 * "32.1", an ICD-10 code) to and from the unsigned integer that is encrypted.
 *
 * <ul>
 *   <li>{@code uint}: integer in [min, max], stored as value − min;</li>
 *   <li>{@code decimal}: fixed point with {@code scale} decimals, stored as value × 10^scale − min × 10^scale;</li>
 *   <li>{@code category}: one of a closed list of codes, stored as its index in the list;</li>
 *   <li>{@code bool}: true/false (also 1/0, yes/no).</li>
 * </ul>
 * Numeric fields are stored relative to their minimum, so the width fits the span of the range
 * (blood pressure 60–260 fits 8 bits), and also store the square of that stored value (so variance
 * needs no multiplication at query time; variance does not depend on the offset).
 */
public final class FieldSpec {
    public enum Kind { UINT, DECIMAL, CATEGORY, BOOL }

    /** A value the codec refuses, with the reason in the user's terms. */
    public static final class ValueException extends Exception {
        private static final long serialVersionUID = 1L;

        ValueException(String message) {
            super(message);
        }
    }

    private final String name;
    private final Kind kind;
    private final boolean required;
    private final String defaultValue;
    private final boolean round;
    private final int scale;
    private final long min;
    private final long max;
    private final List<String> codes;
    private final boolean square;
    private final JsonNode fhir;
    private final String unit;

    FieldSpec(String name, Kind kind, boolean required, String defaultValue, boolean round, int scale, long min, long max,
              List<String> codes, boolean square, JsonNode fhir, String unit) {
        this.name = name;
        this.kind = kind;
        this.required = required;
        this.defaultValue = defaultValue;
        this.round = round;
        this.scale = scale;
        this.min = min;
        this.max = max;
        this.codes = codes;
        this.square = square;
        this.fhir = fhir;
        this.unit = unit;
    }

    /** The field's unit (UCUM, e.g. "mmol/L"), or null when the schema names none. */
    public String unit() {
        return unit;
    }

    /** The declared default (in the field's units), or null. */
    public String defaultValue() {
        return defaultValue;
    }

    public String name() {
        return name;
    }

    public Kind kind() {
        return kind;
    }

    public boolean required() {
        return required;
    }

    public int scale() {
        return scale;
    }

    /** The offset subtracted before storing: the range's minimum in scaled units (0 for categories, bools). */
    public long offset() {
        return min;
    }

    /** Largest stored value: (max − min) in scaled units; categories: last index. */
    public long maxStored() {
        return max - min;
    }

    /**
     * The stored value of a clear constant in the field's units (for queries), or a reason it has none.
     *
     * @throws ValueException when the constant is not a valid value of this field
     */
    public long storedValueOf(String constant) throws ValueException {
        if (constant == null || constant.isBlank()) {
            throw new ValueException("empty constant");
        }
        return encodeNonEmpty(constant.strip());
    }

    public List<String> codes() {
        return codes;
    }

    public JsonNode fhir() {
        return fhir;
    }

    /** Whether input with more decimals than {@code scale} is rounded (else refused). */
    public boolean round() {
        return round;
    }

    public boolean isNumeric() {
        return kind == Kind.UINT || kind == Kind.DECIMAL;
    }

    public boolean hasSquare() {
        return square && isNumeric();
    }

    /** The encrypted type of the value: the smallest width that holds the range. */
    public FheType<?> storedType() {
        return kind == Kind.BOOL ? FheType.BOOL : FheType.smallestUintFor(maxStored());
    }

    /** The encrypted type of x² (null when not stored). */
    public FheType<?> squareType() {
        if (!hasSquare()) {
            return null;
        }
        return FheType.smallestUintFor(maxStored() * maxStored()); // the schema caps the span at 2^32-1
    }

    /** Encrypted blocks (2 bits each) that one record spends on this field. */
    public int blocks() {
        int b = blocksOf(storedType());
        return hasSquare() ? b + blocksOf(squareType()) : b;
    }

    private static int blocksOf(FheType<?> t) {
        return t == FheType.BOOL ? 1 : t.bits() / 2;
    }

    /**
     * Encodes a raw input cell (null or blank = empty) into the stored unsigned value.
     *
     * @throws ValueException with a reason naming the rule that was broken
     */
    public long encode(String raw) throws ValueException {
        String v = raw == null ? "" : raw.strip();
        if (v.isEmpty()) {
            if (defaultValue != null) {
                v = defaultValue;
            } else {
                throw new ValueException(required ? "empty, but the field is required" : "empty and no default is declared");
            }
        }
        return encodeNonEmpty(v);
    }

    private long encodeNonEmpty(String v) throws ValueException {
        switch (kind) {
            case BOOL -> {
                return switch (v.toLowerCase(Locale.ROOT)) {
                    case "true", "1", "yes", "y", "t" -> 1;
                    case "false", "0", "no", "n", "f" -> 0;
                    default -> throw new ValueException("'" + v + "' is not a boolean (true/false, 1/0, yes/no)");
                };
            }
            case CATEGORY -> {
                int i = codes.indexOf(v);
                if (i < 0) {
                    throw new ValueException("unknown code '" + v + "' (allowed: " + abbreviate(codes) + ")");
                }
                return i;
            }
            case UINT, DECIMAL -> {
                BigDecimal d;
                try {
                    d = new BigDecimal(v);
                } catch (NumberFormatException e) {
                    throw new ValueException("'" + v + "' is not a number");
                }
                BigDecimal scaled = d.movePointRight(scale);
                if (scaled.stripTrailingZeros().scale() > 0) {
                    if (!round) {
                        throw new ValueException("'" + v + "' has more than " + scale + " decimal"
                                + (scale == 1 ? "" : "s") + (kind == Kind.UINT ? " (an integer is expected)" : "")
                                + "; the schema does not allow rounding");
                    }
                    scaled = scaled.setScale(0, RoundingMode.HALF_EVEN);
                }
                if (scaled.compareTo(BigDecimal.valueOf(min)) < 0 || scaled.compareTo(BigDecimal.valueOf(max)) > 0) {
                    throw new ValueException("'" + v + "' is out of range [" + unscaled(min) + ", " + unscaled(max) + "]");
                }
                return scaled.longValueExact() - min;
            }
            default -> throw new IllegalStateException(kind.toString());
        }
    }

    /** The clear value in the field's own units, from a stored value. */
    public String display(long stored) {
        return switch (kind) {
            case BOOL -> stored != 0 ? "true" : "false";
            case CATEGORY -> stored >= 0 && stored < codes.size() ? codes.get((int) stored) : "#" + stored;
            case UINT, DECIMAL -> unscaled(stored + min);
        };
    }

    /** A scaled value (not offset) in the field's units: 321 with scale 1 is "32.1". */
    public String unscaled(long scaled) {
        return BigDecimal.valueOf(scaled, scale).toPlainString();
    }

    public String describe() {
        return switch (kind) {
            case BOOL -> "bool";
            case CATEGORY -> "category (" + codes.size() + " codes)";
            case UINT -> "uint [" + unscaled(min) + ", " + unscaled(max) + "]";
            case DECIMAL -> "decimal(" + scale + ") [" + unscaled(min) + ", " + unscaled(max) + "]";
        };
    }

    private static String abbreviate(List<String> codes) {
        return codes.size() <= 12 ? String.join(", ", codes)
                : String.join(", ", codes.subList(0, 12)) + ", … (" + codes.size() + " codes)";
    }
}
