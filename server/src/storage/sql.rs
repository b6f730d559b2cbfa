//! The one builder for SQL whose shape depends on the request: optional conditions and
//! multi-row `VALUES` lists. It numbers `$n` placeholders as values are bound, so text and
//! arguments cannot drift apart.

use sqlx::any::AnyArguments;
use sqlx::{Any, Arguments, Encode, Type};

use super::StoreResult;

/// SQL text with its arguments.
pub(super) struct Sql<'q> {
    text: String,
    args: AnyArguments<'q>,
    params: usize,
    conditions: usize,
}

impl<'q> Sql<'q> {
    pub(super) fn new(text: &str) -> Self {
        Self {
            text: text.to_owned(),
            args: AnyArguments::default(),
            params: 0,
            conditions: 0,
        }
    }

    /// Appends literal SQL.
    pub(super) fn push(&mut self, text: &str) -> &mut Self {
        self.text.push_str(text);
        self
    }

    /// Appends the next placeholder and binds `value` to it.
    pub(super) fn bind<T>(&mut self, value: T) -> StoreResult<&mut Self>
    where
        T: 'q + Encode<'q, Any> + Type<Any>,
    {
        self.args.add(value).map_err(sqlx::Error::Encode)?;
        self.params += 1;
        self.text.push('$');
        self.text.push_str(&self.params.to_string());
        Ok(self)
    }

    /// Starts the next condition: ` WHERE ` before the first, ` AND ` before the others.
    pub(super) fn and(&mut self, text: &str) -> &mut Self {
        self.text.push_str(if self.conditions == 0 {
            " WHERE "
        } else {
            " AND "
        });
        self.conditions += 1;
        self.push(text)
    }

    /// Appends ` VALUES (…), (…)`: one parenthesised row per item, whose values `row` binds.
    pub(super) fn values<I, F>(&mut self, items: I, mut row: F) -> StoreResult<&mut Self>
    where
        I: IntoIterator,
        F: FnMut(&mut Tuple<'_, 'q>, I::Item) -> StoreResult<()>,
    {
        self.text.push_str(" VALUES ");
        for (i, item) in items.into_iter().enumerate() {
            if i > 0 {
                self.text.push_str(", ");
            }
            self.text.push('(');
            row(&mut Tuple { sql: self, len: 0 }, item)?;
            self.text.push(')');
        }
        Ok(self)
    }

    /// Appends `(…)` with one placeholder per value: the right side of an `IN`.
    pub(super) fn list<I>(&mut self, values: I) -> StoreResult<&mut Self>
    where
        I: IntoIterator,
        I::Item: 'q + Encode<'q, Any> + Type<Any>,
    {
        self.text.push('(');
        let mut tuple = Tuple { sql: self, len: 0 };
        for value in values {
            tuple.bind(value)?;
        }
        self.text.push(')');
        Ok(self)
    }

    /// The text and arguments, for `sqlx::query_with` and `query_as_with`.
    pub(super) fn finish(self) -> (String, AnyArguments<'q>) {
        (self.text, self.args)
    }
}

/// One row of a `VALUES` list being bound.
pub(super) struct Tuple<'s, 'q> {
    sql: &'s mut Sql<'q>,
    len: usize,
}

impl<'q> Tuple<'_, 'q> {
    /// Binds the row's next value.
    pub(super) fn bind<T>(&mut self, value: T) -> StoreResult<&mut Self>
    where
        T: 'q + Encode<'q, Any> + Type<Any>,
    {
        if self.len > 0 {
            self.sql.push(", ");
        }
        self.len += 1;
        self.sql.bind(value)?;
        Ok(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_placeholders_across_conditions_and_rows() {
        let mut sql = Sql::new("SELECT 1 FROM t");
        sql.and("a = ").bind(1_i64).unwrap();
        sql.and("(b, c) < (").bind(2_i64).unwrap().push(", ");
        sql.bind("x").unwrap().push(")");
        assert_eq!(
            sql.text,
            "SELECT 1 FROM t WHERE a = $1 AND (b, c) < ($2, $3)"
        );

        let mut sql = Sql::new("INSERT INTO t (a, b)");
        sql.values([1_i64, 2], |row, v| {
            row.bind(v)?.bind(v * 10)?;
            Ok(())
        })
        .unwrap();
        assert_eq!(sql.text, "INSERT INTO t (a, b) VALUES ($1, $2), ($3, $4)");
        assert_eq!(sql.args.len(), 4);

        let mut sql = Sql::new("SELECT 1 FROM t");
        sql.and("a = ").bind(0_i64).unwrap();
        sql.and("id IN ").list([7_i64, 8]).unwrap();
        assert_eq!(sql.text, "SELECT 1 FROM t WHERE a = $1 AND id IN ($2, $3)");
    }
}
