package org.medvault.query;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Set;

/**
 * A hand-written recursive-descent parser for MedVault's SQL subset:
 * <pre>
 * query     := SELECT aggregate (',' aggregate)* [WHERE or] [';']
 * aggregate := COUNT '(' '*' ')' | (SUM|AVG|VAR|MIN|MAX) '(' field ')'
 *            | HISTOGRAM '(' field ',' const ',' const ',' int ')'
 * or        := and (OR and)*        and := not (AND not)*        not := NOT not | atom
 * atom      := '(' or ')' | field op const | field [NOT] BETWEEN const AND const
 *            | field [NOT] IN '(' const (',' const)* ')' | field
 * op        := = | != | <> | < | <= | > | >=        const := number | 'text' | word
 * </pre>
 * Keywords are case-insensitive. Errors carry the position and what was expected.
 */
public final class QueryParser {
    private static final Set<String> FUNCTIONS = Set.of("count", "sum", "avg", "var", "min", "max", "histogram");
    private static final Set<String> KEYWORDS = Set.of("select", "where", "and", "or", "not", "between", "in");

    private enum T { WORD, NUMBER, STRING, SYMBOL, END }

    private record Token(T type, String text, int pos) {
        boolean is(String s) {
            return (type == T.WORD && text.equalsIgnoreCase(s)) || (type == T.SYMBOL && text.equals(s));
        }

        String show() {
            return type == T.END ? "end of query" : "'" + text + "'";
        }
    }

    private final String text;
    private final List<Token> tokens;
    private int i;

    private QueryParser(String text) {
        this.text = text;
        this.tokens = lex(text);
    }

    public static Ast.Query parse(String text) {
        if (text == null || text.isBlank()) {
            throw new QueryException("empty query; expected SELECT …", 0);
        }
        return new QueryParser(text).query();
    }

    private static List<Token> lex(String s) {
        List<Token> out = new ArrayList<>();
        int p = 0;
        while (p < s.length()) {
            char c = s.charAt(p);
            if (Character.isWhitespace(c)) {
                p++;
            } else if (Character.isLetter(c) || c == '_') {
                int start = p;
                while (p < s.length() && (Character.isLetterOrDigit(s.charAt(p)) || s.charAt(p) == '_' || s.charAt(p) == '.')) {
                    p++;
                }
                out.add(new Token(T.WORD, s.substring(start, p), start));
            } else if (Character.isDigit(c) || (c == '-' && p + 1 < s.length() && Character.isDigit(s.charAt(p + 1)))) {
                int start = p;
                p++;
                while (p < s.length() && (Character.isDigit(s.charAt(p)) || s.charAt(p) == '.')) {
                    p++;
                }
                out.add(new Token(T.NUMBER, s.substring(start, p), start));
            } else if (c == '\'' || c == '"') {
                int start = p;
                int end = s.indexOf(c, p + 1);
                if (end < 0) {
                    throw new QueryException("unterminated quoted constant", start);
                }
                out.add(new Token(T.STRING, s.substring(p + 1, end), start));
                p = end + 1;
            } else {
                String two = p + 1 < s.length() ? s.substring(p, p + 2) : "";
                if (two.equals("<=") || two.equals(">=") || two.equals("!=") || two.equals("<>")) {
                    out.add(new Token(T.SYMBOL, two, p));
                    p += 2;
                } else if ("=<>(),*;".indexOf(c) >= 0) {
                    out.add(new Token(T.SYMBOL, String.valueOf(c), p));
                    p++;
                } else {
                    throw new QueryException("unexpected character '" + c + "'", p);
                }
            }
        }
        out.add(new Token(T.END, "", s.length()));
        return out;
    }

    private Token peek() {
        return tokens.get(i);
    }

    private Token next() {
        return tokens.get(i++);
    }

    private Token expect(String s, String what) {
        Token t = next();
        if (!t.is(s)) {
            throw new QueryException("expected " + what + ", found " + t.show(), t.pos());
        }
        return t;
    }

    private Ast.Query query() {
        expect("select", "SELECT");
        List<Ast.Aggregate> select = new ArrayList<>();
        do {
            select.add(aggregate());
        } while (peek().is(",") && next() != null);
        Ast.Pred where = null;
        if (peek().is("where")) {
            next();
            where = or();
        }
        if (peek().is(";")) {
            next();
        }
        Token t = peek();
        if (t.type() != T.END) {
            throw new QueryException("expected ',', WHERE, AND, OR or the end of the query, found " + t.show(), t.pos());
        }
        return new Ast.Query(text, select, where);
    }

    private Ast.Aggregate aggregate() {
        Token f = next();
        String fn = f.text().toLowerCase(Locale.ROOT);
        if (f.type() != T.WORD || !FUNCTIONS.contains(fn)) {
            throw new QueryException("expected an aggregate (count, sum, avg, var, min, max, histogram), found " + f.show(), f.pos());
        }
        expect("(", "'(' after " + fn);
        if (fn.equals("count")) {
            expect("*", "'*' in count(*)");
            expect(")", "')'");
            return new Ast.Aggregate(fn, null, f.pos(), null, null, null);
        }
        Token field = fieldName();
        if (fn.equals("histogram")) {
            expect(",", "',' after the histogram's field");
            Ast.Constant lo = constant();
            expect(",", "',' after the histogram's lower bound");
            Ast.Constant hi = constant();
            expect(",", "',' after the histogram's upper bound");
            Ast.Constant n = constant();
            expect(")", "')'");
            return new Ast.Aggregate(fn, field.text(), f.pos(), lo, hi, n);
        }
        expect(")", "')'");
        return new Ast.Aggregate(fn, field.text(), f.pos(), null, null, null);
    }

    private Token fieldName() {
        Token t = next();
        if (t.type() != T.WORD || KEYWORDS.contains(t.text().toLowerCase(Locale.ROOT))) {
            throw new QueryException("expected a field name, found " + t.show(), t.pos());
        }
        return t;
    }

    private Ast.Constant constant() {
        Token t = next();
        if (t.type() == T.NUMBER || t.type() == T.STRING || (t.type() == T.WORD && !KEYWORDS.contains(t.text().toLowerCase(Locale.ROOT)))) {
            return new Ast.Constant(t.text(), t.pos());
        }
        throw new QueryException("expected a constant, found " + t.show(), t.pos());
    }

    private Ast.Pred or() {
        Ast.Pred left = and();
        while (peek().is("or")) {
            next();
            left = new Ast.Or(left, and());
        }
        return left;
    }

    private Ast.Pred and() {
        Ast.Pred left = not();
        while (peek().is("and")) {
            next();
            left = new Ast.And(left, not());
        }
        return left;
    }

    private Ast.Pred not() {
        if (peek().is("not")) {
            next();
            return new Ast.Not(not());
        }
        return atom();
    }

    private Ast.Pred atom() {
        if (peek().is("(")) {
            next();
            Ast.Pred p = or();
            expect(")", "')'");
            return p;
        }
        Token field = fieldName();
        Token op = peek();
        boolean negated = false;
        if (op.is("not")) {
            next();
            negated = true;
            op = peek();
            if (!op.is("between") && !op.is("in")) {
                throw new QueryException("expected BETWEEN or IN after NOT, found " + op.show(), op.pos());
            }
        }
        if (op.is("between")) {
            next();
            Ast.Constant lo = constant();
            expect("and", "AND in BETWEEN … AND …");
            Ast.Constant hi = constant();
            Ast.Pred p = new Ast.Between(field.text(), field.pos(), lo, hi);
            return negated ? new Ast.Not(p) : p;
        }
        if (op.is("in")) {
            next();
            expect("(", "'(' after IN");
            List<Ast.Constant> values = new ArrayList<>();
            do {
                values.add(constant());
            } while (peek().is(",") && next() != null);
            expect(")", "')' closing the IN list");
            return new Ast.In(field.text(), field.pos(), values, negated);
        }
        if (op.type() == T.SYMBOL && Set.of("=", "!=", "<>", "<", "<=", ">", ">=").contains(op.text())) {
            next();
            String o = op.text().equals("<>") ? "!=" : op.text();
            return new Ast.Cmp(field.text(), field.pos(), o, constant());
        }
        return new Ast.BoolField(field.text(), field.pos());
    }
}
