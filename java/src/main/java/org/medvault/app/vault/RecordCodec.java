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

    /** Encoded values, or the errors (one per bad field) naming file, row and field. */
    public record Encoded(long[] values, List<InputError> errors) {
        public boolean ok() {
            return errors.isEmpty();
        }
    }

    public Encoded encode(String file, InputRow row) {
        List<InputError> errors = new ArrayList<>();
        if (row.error() != null) {
            errors.add(new InputError(file, row.row(), null, row.error()));
            return new Encoded(null, errors);
        }
        long[] out = new long[layout.size()];
        int i = 0;
        for (FieldSpec f : schema.fields()) {
            long v = 0;
            try {
                v = f.encode(row.cells().get(f.name()));
            } catch (FieldSpec.ValueException e) {
                errors.add(new InputError(file, row.row(), f.name(), e.getMessage()));
            }
            out[i++] = v;
            if (f.hasSquare()) {
                out[i++] = v * v;
            }
        }
        return new Encoded(errors.isEmpty() ? out : null, errors);
    }
}
