package org.medvault.app.vault;

import java.util.ArrayList;
import java.util.List;

import org.medvault.fhe.FheType;
import org.medvault.schema.FieldSpec;
import org.medvault.schema.VaultSchema;

/** Turns an input row into the unsigned values to encrypt, in the schema's record layout. */
public final class RecordCodec {
    private final VaultSchema schema;
    private final List<FheType<?>> layout;

    public RecordCodec(VaultSchema schema) {
        this.schema = schema;
        this.layout = schema.recordLayout();
    }

    public VaultSchema schema() {
        return schema;
    }

    public List<FheType<?>> layout() {
        return layout;
    }

    /**
     * Encoded values, or the errors (one per bad field) naming file, row and field; {@code defaulted}
     * names the fields that were empty and took the schema's default.
     */
    public record Encoded(long[] values, List<InputError> errors, List<String> defaulted) {
        public boolean ok() {
            return errors.isEmpty();
        }
    }

    public Encoded encode(InputRow row) {
        if (!row.errors().isEmpty() && row.cells().isEmpty()) { // unreadable: nothing more to check
            return new Encoded(null, row.errors(), List.of());
        }
        // Every problem at once: the reader's (e.g. a FHIR field with no usable result), then the
        // codec's for the other fields.
        List<InputError> errors = new ArrayList<>(row.errors());
        java.util.Set<String> named = new java.util.HashSet<>();
        row.errors().forEach(e -> named.add(e.field()));
        List<String> defaulted = new ArrayList<>();
        long[] out = new long[layout.size()];
        int i = 0;
        for (FieldSpec f : schema.fields()) {
            long v = 0;
            String cell = row.cells().get(f.name());
            if (named.contains(f.name())) {
                out[i++] = 0;
                if (f.hasSquare()) {
                    out[i++] = 0;
                }
                continue;
            }
            try {
                v = f.encode(cell);
                if ((cell == null || cell.isBlank()) && f.defaultValue() != null) {
                    defaulted.add(f.name());
                }
            } catch (FieldSpec.ValueException e) {
                errors.add(new InputError(row.file(), row.row(), row.where(), row.id(), f.name(), e.getMessage()));
            }
            out[i++] = v;
            if (f.hasSquare()) {
                out[i++] = v * v;
            }
        }
        List<String> order = schema.fields().stream().map(FieldSpec::name).toList();
        errors.sort(java.util.Comparator.comparingInt(e -> e.field() == null ? -1 : order.indexOf(e.field())));
        return new Encoded(errors.isEmpty() ? out : null, errors, defaulted);
    }
}
