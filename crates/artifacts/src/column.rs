//! Mapping between Rust field types and Arrow columns.
//!
//! Every artifact row type (see [`crate::schemas`]) is a plain struct whose fields implement
//! [`ColumnValue`]. The trait knows the Arrow data type, whether the column is nullable, how to
//! append a value to a builder and how to read one back from a downcast array. It must not know
//! anything about files or artifact kinds.

use std::sync::Arc;

use arrow::array::{
    Array, ArrayBuilder, ArrayRef, BooleanArray, BooleanBuilder, Float32Array, Float32Builder,
    Float64Array, Float64Builder, Int8Array, Int8Builder, Int32Array, Int32Builder, Int64Array,
    Int64Builder, ListArray, ListBuilder, StringArray, StringBuilder,
};
use arrow::datatypes::{DataType, Field};

/// A Rust type that is stored as one Arrow column.
pub trait ColumnValue: Sized {
    /// Builder used while writing.
    type Builder: ArrayBuilder;
    /// Concrete array type used while reading.
    type Array: Array + 'static;

    fn data_type() -> DataType;
    fn nullable() -> bool {
        false
    }
    fn new_builder(capacity: usize) -> Self::Builder;
    fn append(builder: &mut Self::Builder, value: &Self);
    /// Reads row `row`. The caller has checked that the value is not null unless the type is an
    /// `Option`.
    fn get(array: &Self::Array, row: usize) -> Self;
    fn downcast(array: &dyn Array) -> Option<&Self::Array> {
        array.as_any().downcast_ref::<Self::Array>()
    }
}

/// A non-null scalar that can also be stored as `Option<T>`.
pub trait NullableColumn: ColumnValue {
    fn append_null(builder: &mut Self::Builder);
}

macro_rules! primitive_column {
    ($rust:ty, $builder:ty, $array:ty, $dt:expr) => {
        impl ColumnValue for $rust {
            type Builder = $builder;
            type Array = $array;
            fn data_type() -> DataType {
                $dt
            }
            fn new_builder(capacity: usize) -> Self::Builder {
                <$builder>::with_capacity(capacity)
            }
            fn append(builder: &mut Self::Builder, value: &Self) {
                builder.append_value(*value);
            }
            fn get(array: &Self::Array, row: usize) -> Self {
                array.value(row)
            }
        }
        impl NullableColumn for $rust {
            fn append_null(builder: &mut Self::Builder) {
                builder.append_null();
            }
        }
    };
}

primitive_column!(i8, Int8Builder, Int8Array, DataType::Int8);
primitive_column!(i32, Int32Builder, Int32Array, DataType::Int32);
primitive_column!(i64, Int64Builder, Int64Array, DataType::Int64);
primitive_column!(f32, Float32Builder, Float32Array, DataType::Float32);
primitive_column!(f64, Float64Builder, Float64Array, DataType::Float64);
primitive_column!(bool, BooleanBuilder, BooleanArray, DataType::Boolean);

impl ColumnValue for String {
    type Builder = StringBuilder;
    type Array = StringArray;
    fn data_type() -> DataType {
        DataType::Utf8
    }
    fn new_builder(capacity: usize) -> Self::Builder {
        StringBuilder::with_capacity(capacity, capacity * 16)
    }
    fn append(builder: &mut Self::Builder, value: &Self) {
        builder.append_value(value);
    }
    fn get(array: &Self::Array, row: usize) -> Self {
        array.value(row).to_owned()
    }
}

impl NullableColumn for String {
    fn append_null(builder: &mut Self::Builder) {
        builder.append_null();
    }
}

impl<T: NullableColumn> ColumnValue for Option<T> {
    type Builder = T::Builder;
    type Array = T::Array;
    fn data_type() -> DataType {
        T::data_type()
    }
    fn nullable() -> bool {
        true
    }
    fn new_builder(capacity: usize) -> Self::Builder {
        T::new_builder(capacity)
    }
    fn append(builder: &mut Self::Builder, value: &Self) {
        match value {
            Some(value) => T::append(builder, value),
            None => T::append_null(builder),
        }
    }
    fn get(array: &Self::Array, row: usize) -> Self {
        if array.is_null(row) {
            None
        } else {
            Some(T::get(array, row))
        }
    }
}

macro_rules! list_column {
    ($rust:ty, $builder:ty, $array:ty, $dt:expr) => {
        impl ColumnValue for Vec<$rust> {
            type Builder = ListBuilder<$builder>;
            type Array = ListArray;
            fn data_type() -> DataType {
                DataType::List(Arc::new(Field::new("item", $dt, false)))
            }
            fn new_builder(capacity: usize) -> Self::Builder {
                ListBuilder::with_capacity(<$builder>::new(), capacity)
                    .with_field(Arc::new(Field::new("item", $dt, false)))
            }
            fn append(builder: &mut Self::Builder, value: &Self) {
                builder.values().append_slice(value);
                builder.append(true);
            }
            fn get(array: &Self::Array, row: usize) -> Self {
                let values = array.value(row);
                values
                    .as_any()
                    .downcast_ref::<$array>()
                    .map(|values| values.values().to_vec())
                    .unwrap_or_default()
            }
        }
    };
}

list_column!(i32, Int32Builder, Int32Array, DataType::Int32);
list_column!(f32, Float32Builder, Float32Array, DataType::Float32);
list_column!(f64, Float64Builder, Float64Array, DataType::Float64);

/// Finishes a builder into an [`ArrayRef`].
pub fn finish<B: ArrayBuilder>(builder: &mut B) -> ArrayRef {
    builder.finish()
}
