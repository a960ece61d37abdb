//! The [`Artifact`] trait and the [`artifact!`](crate::artifact) macro that defines one artifact
//! kind: its row struct, column-name constants, Arrow schema and a batch builder, from a single
//! field list. Column names are spelled only in `schemas.rs`.

use arrow::datatypes::SchemaRef;
use arrow::record_batch::RecordBatch;

/// A problem with one column of a batch, before the reader adds the file path.
#[derive(Debug, Clone, PartialEq)]
pub enum ColumnProblem {
    Missing {
        column: &'static str,
    },
    WrongType {
        column: &'static str,
        expected: String,
        found: String,
    },
    UnexpectedNull {
        column: &'static str,
        row: usize,
    },
}

/// One kind of Parquet artifact: a typed row plus the metadata that identifies the file.
pub trait Artifact: Sized + Clone + std::fmt::Debug {
    /// Recorded as `icodegen.kind` in the file metadata (`tokens`, `snippets`, ...).
    const KIND: &'static str;
    /// Recorded as `icodegen.schema_version`; bump on any incompatible column change.
    const VERSION: u32;
    /// Column names in schema order.
    const COLUMNS: &'static [&'static str];
    /// The Arrow schema (without file metadata).
    fn schema() -> SchemaRef;
    /// Builds one record batch from rows.
    fn to_batch(rows: &[Self]) -> RecordBatch;
    /// Reads rows from a batch whose columns include (at least) this artifact's columns.
    fn from_batch(batch: &RecordBatch) -> Result<Vec<Self>, ColumnProblem>;
}

/// Checks that `batch` has `column` with the expected type and returns it.
#[doc(hidden)]
pub fn column_of<'a, T: crate::column::ColumnValue>(
    batch: &'a RecordBatch,
    column: &'static str,
) -> Result<&'a T::Array, ColumnProblem> {
    use arrow::array::Array;
    let array = batch
        .column_by_name(column)
        .ok_or(ColumnProblem::Missing { column })?;
    let expected = T::data_type();
    let typed = if array.data_type().equals_datatype(&expected) {
        T::downcast(array.as_ref())
    } else {
        None
    };
    let typed = typed.ok_or_else(|| ColumnProblem::WrongType {
        column,
        expected: expected.to_string(),
        found: array.data_type().to_string(),
    })?;
    if !T::nullable() && typed.null_count() > 0 {
        let row = (0..typed.len()).find(|&i| typed.is_null(i)).unwrap_or(0);
        return Err(ColumnProblem::UnexpectedNull { column, row });
    }
    Ok(typed)
}

/// Defines an artifact kind inside its own module.
///
/// ```ignore
/// pub mod tokens {
///     icodegen_artifacts::artifact! {
///         kind: "tokens", version: 1;
///         /// documentation of the column
///         model_id: String,
///         position: i32,
///     }
/// }
/// ```
/// generates `Row` (the typed row), `Builder` (accumulates rows into a `RecordBatch`),
/// `col::*` (column-name constants), `KIND`, `VERSION` and `schema()`.
#[macro_export]
macro_rules! artifact {
    (
        kind: $kind:literal, version: $version:literal;
        $( $(#[$field_meta:meta])* $field:ident : $ty:ty ),* $(,)?
    ) => {
        /// Column names of this artifact; the only place they are spelled.
        #[allow(non_upper_case_globals)]
        pub mod col {
            $( pub const $field: &str = stringify!($field); )*
        }

        pub const KIND: &str = $kind;
        pub const VERSION: u32 = $version;

        /// One row of this artifact.
        #[derive(Debug, Clone, PartialEq, Default)]
        pub struct Row {
            $( $(#[$field_meta])* pub $field: $ty, )*
        }

        /// The Arrow schema of this artifact.
        pub fn schema() -> ::arrow::datatypes::SchemaRef {
            use $crate::column::ColumnValue;
            ::std::sync::Arc::new(::arrow::datatypes::Schema::new(vec![
                $( ::arrow::datatypes::Field::new(
                    stringify!($field),
                    <$ty as ColumnValue>::data_type(),
                    <$ty as ColumnValue>::nullable(),
                ), )*
            ]))
        }

        /// Accumulates rows column by column.
        pub struct Builder {
            len: usize,
            $( $field: <$ty as $crate::column::ColumnValue>::Builder, )*
        }

        impl Builder {
            pub fn with_capacity(capacity: usize) -> Self {
                use $crate::column::ColumnValue;
                Self { len: 0, $( $field: <$ty as ColumnValue>::new_builder(capacity), )* }
            }

            pub fn push(&mut self, row: &Row) {
                use $crate::column::ColumnValue;
                $( <$ty as ColumnValue>::append(&mut self.$field, &row.$field); )*
                self.len += 1;
            }

            pub fn len(&self) -> usize {
                self.len
            }

            pub fn is_empty(&self) -> bool {
                self.len == 0
            }

            /// Returns the accumulated rows as a batch and leaves the builder empty.
            pub fn finish(&mut self) -> ::arrow::record_batch::RecordBatch {
                use ::arrow::array::ArrayBuilder;
                self.len = 0;
                let columns: Vec<::arrow::array::ArrayRef> = vec![ $( ArrayBuilder::finish(&mut self.$field), )* ];
                ::arrow::record_batch::RecordBatch::try_new(schema(), columns)
                    .expect("builder columns match the schema by construction")
            }
        }

        impl Default for Builder {
            fn default() -> Self {
                Self::with_capacity(1024)
            }
        }

        impl $crate::Artifact for Row {
            const KIND: &'static str = $kind;
            const VERSION: u32 = $version;
            const COLUMNS: &'static [&'static str] = &[ $( stringify!($field), )* ];

            fn schema() -> ::arrow::datatypes::SchemaRef {
                schema()
            }

            fn to_batch(rows: &[Self]) -> ::arrow::record_batch::RecordBatch {
                let mut builder = Builder::with_capacity(rows.len());
                for row in rows {
                    builder.push(row);
                }
                builder.finish()
            }

            fn from_batch(
                batch: &::arrow::record_batch::RecordBatch,
            ) -> ::std::result::Result<Vec<Self>, $crate::ColumnProblem> {
                use $crate::column::ColumnValue;
                $( let $field = $crate::artifact::column_of::<$ty>(batch, stringify!($field))?; )*
                Ok((0..batch.num_rows())
                    .map(|i| Row { $( $field: <$ty as ColumnValue>::get($field, i), )* })
                    .collect())
            }
        }
    };
}
