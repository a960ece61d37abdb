//! The validated table an estimator works on: one treatment, one outcome, confounders.

use crate::error::{CausalError, Result};

/// A named numeric column.
#[derive(Debug, Clone, PartialEq)]
pub struct Column {
    pub name: String,
    pub values: Vec<f64>,
}

impl Column {
    pub fn new(name: impl Into<String>, values: Vec<f64>) -> Self {
        Self {
            name: name.into(),
            values,
        }
    }

    /// Checks that the column has `rows` values (as column `reference` has), all finite.
    pub(crate) fn check(&self, reference: &str, rows: usize) -> Result<()> {
        if self.values.len() != rows {
            return Err(CausalError::LengthMismatch {
                column: self.name.clone(),
                reference: reference.to_owned(),
                expected: rows,
                got: self.values.len(),
            });
        }
        if let Some(row) = self.values.iter().position(|value| !value.is_finite()) {
            return Err(CausalError::NonFinite {
                column: self.name.clone(),
                row,
                value: self.values[row],
            });
        }
        Ok(())
    }
}

/// Treatment T, outcome Y and confounders Z as columns of equal length, all finite, with a
/// non-constant treatment and distinct names. Construct with [`CausalData::new`].
#[derive(Debug, Clone, PartialEq)]
pub struct CausalData {
    treatment: Column,
    outcome: Column,
    confounders: Vec<Column>,
}

impl CausalData {
    /// Validates and wraps the columns. Errors name the offending column and row.
    pub fn new(treatment: Column, outcome: Column, confounders: Vec<Column>) -> Result<Self> {
        let rows = treatment.values.len();
        let mut seen: Vec<&str> = Vec::new();
        for column in std::iter::once(&treatment)
            .chain(std::iter::once(&outcome))
            .chain(&confounders)
        {
            if seen.contains(&column.name.as_str()) {
                return Err(CausalError::DuplicateColumn(column.name.clone()));
            }
            seen.push(&column.name);
            column.check(&treatment.name, rows)?;
        }
        let needed = confounders.len() + 3;
        if rows < needed {
            return Err(CausalError::TooFewRows {
                what: "estimating an effect with these confounders",
                needed,
                got: rows,
            });
        }
        let first = treatment.values[0];
        if treatment.values.iter().all(|&value| value == first) {
            return Err(CausalError::ConstantTreatment {
                column: treatment.name.clone(),
                value: first,
            });
        }
        Ok(Self {
            treatment,
            outcome,
            confounders,
        })
    }

    /// Rows.
    pub fn len(&self) -> usize {
        self.treatment.values.len()
    }

    /// Whether there are no rows (never true for validated data).
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    pub fn treatment(&self) -> &[f64] {
        &self.treatment.values
    }

    pub fn treatment_name(&self) -> &str {
        &self.treatment.name
    }

    pub fn outcome(&self) -> &[f64] {
        &self.outcome.values
    }

    pub fn outcome_name(&self) -> &str {
        &self.outcome.name
    }

    pub fn confounders(&self) -> &[Column] {
        &self.confounders
    }

    pub fn confounder_names(&self) -> Vec<&str> {
        self.confounders
            .iter()
            .map(|column| column.name.as_str())
            .collect()
    }

    /// The first row whose treatment is neither 0 nor 1, if any.
    pub fn first_non_binary_treatment(&self) -> Option<(usize, f64)> {
        self.treatment
            .values
            .iter()
            .position(|&value| value != 0.0 && value != 1.0)
            .map(|row| (row, self.treatment.values[row]))
    }

    /// Whether the treatment is 0/1.
    pub fn is_binary_treatment(&self) -> bool {
        self.first_non_binary_treatment().is_none()
    }

    /// Errors unless the treatment is 0/1 (for propensity-score methods).
    pub fn require_binary_treatment(&self, method: &'static str) -> Result<()> {
        match self.first_non_binary_treatment() {
            None => Ok(()),
            Some((row, value)) => Err(CausalError::NonBinaryTreatment {
                method,
                column: self.treatment.name.clone(),
                row,
                value,
            }),
        }
    }

    /// Treated (T = 1) and control (T = 0) counts for a binary treatment.
    pub fn arm_sizes(&self) -> (usize, usize) {
        let treated = self
            .treatment
            .values
            .iter()
            .filter(|&&value| value == 1.0)
            .count();
        (treated, self.len() - treated)
    }

    // Constructors for refuters: they skip re-validation of columns that did not change.

    pub(crate) fn with_treatment(&self, values: Vec<f64>) -> Self {
        Self {
            treatment: Column::new(self.treatment.name.clone(), values),
            outcome: self.outcome.clone(),
            confounders: self.confounders.clone(),
        }
    }

    pub(crate) fn with_outcome_and_treatment(
        &self,
        outcome: Vec<f64>,
        treatment: Vec<f64>,
    ) -> Self {
        Self {
            treatment: Column::new(self.treatment.name.clone(), treatment),
            outcome: Column::new(self.outcome.name.clone(), outcome),
            confounders: self.confounders.clone(),
        }
    }

    pub(crate) fn with_extra_confounder(&self, column: Column) -> Self {
        let mut confounders = self.confounders.clone();
        confounders.push(column);
        Self {
            confounders,
            ..self.clone()
        }
    }

    /// A row-major copy of the table, for drawing many row subsets ([`RowMajor::select_rows`]).
    pub(crate) fn row_major(&self) -> RowMajor<'_> {
        RowMajor::new(self)
    }

    /// The rows at `indices` (repeats allowed, as in a bootstrap resample).
    pub fn select_rows(&self, indices: &[usize]) -> Self {
        let pick = |column: &Column| {
            Column::new(
                column.name.clone(),
                indices.iter().map(|&i| column.values[i]).collect(),
            )
        };
        Self {
            treatment: pick(&self.treatment),
            outcome: pick(&self.outcome),
            confounders: self.confounders.iter().map(pick).collect(),
        }
    }

    pub(crate) fn map_confounders(
        &self,
        mut change: impl FnMut(usize, &Column) -> Vec<f64>,
    ) -> Self {
        Self {
            confounders: self
                .confounders
                .iter()
                .enumerate()
                .map(|(index, column)| Column::new(column.name.clone(), change(index, column)))
                .collect(),
            ..self.clone()
        }
    }
}

/// The table with each row's values (treatment, outcome, confounders) side by side, so that
/// gathering a row touches one cache line instead of one per column: refuters and bootstrap
/// intervals draw hundreds of row subsets in random order, where the column-wise gather of
/// [`CausalData::select_rows`] misses the cache once per value. Same values, same order.
pub(crate) struct RowMajor<'a> {
    data: &'a CausalData,
    width: usize,
    values: Vec<f64>,
}

impl<'a> RowMajor<'a> {
    fn new(data: &'a CausalData) -> Self {
        let columns: Vec<&[f64]> = std::iter::once(&data.treatment)
            .chain(std::iter::once(&data.outcome))
            .chain(&data.confounders)
            .map(|column| column.values.as_slice())
            .collect();
        let width = columns.len();
        let mut values = Vec::with_capacity(data.len() * width);
        for row in 0..data.len() {
            values.extend(columns.iter().map(|column| column[row]));
        }
        Self {
            data,
            width,
            values,
        }
    }

    /// Rows.
    pub(crate) fn len(&self) -> usize {
        self.data.len()
    }

    /// Values per row: treatment, outcome, then the confounders.
    pub(crate) fn width(&self) -> usize {
        self.width
    }

    /// Row `index`: treatment, outcome, then the confounders.
    pub(crate) fn row(&self, index: usize) -> &[f64] {
        &self.values[index * self.width..(index + 1) * self.width]
    }

    /// [`CausalData::select_rows`] of the table this was made from.
    pub(crate) fn select_rows(&self, indices: &[usize]) -> CausalData {
        let mut columns: Vec<Vec<f64>> = (0..self.width)
            .map(|_| Vec::with_capacity(indices.len()))
            .collect();
        for &index in indices {
            let row = &self.values[index * self.width..(index + 1) * self.width];
            for (column, &value) in columns.iter_mut().zip(row) {
                column.push(value);
            }
        }
        let mut columns = columns.into_iter();
        let mut next = |column: &Column| {
            Column::new(
                column.name.clone(),
                columns.next().expect("one vector per column"),
            )
        };
        CausalData {
            treatment: next(&self.data.treatment),
            outcome: next(&self.data.outcome),
            confounders: self.data.confounders.iter().map(&mut next).collect(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_missing_value_names_the_column_and_row() {
        let error = CausalData::new(
            Column::new("t", vec![0.0, 1.0, 0.0, 1.0]),
            Column::new("y", vec![1.0, 2.0, f64::NAN, 4.0]),
            vec![],
        )
        .unwrap_err();
        assert!(matches!(&error, CausalError::NonFinite { column, row: 2, .. } if column == "y"));
        assert!(error.to_string().contains("`y`") && error.to_string().contains("row 2"));
    }

    #[test]
    fn a_constant_treatment_is_rejected() {
        let error = CausalData::new(
            Column::new("t", vec![1.0; 5]),
            Column::new("y", vec![1.0, 2.0, 3.0, 4.0, 5.0]),
            vec![],
        )
        .unwrap_err();
        assert!(matches!(error, CausalError::ConstantTreatment { .. }));
    }

    #[test]
    fn a_confounder_named_like_the_outcome_is_rejected() {
        let error = CausalData::new(
            Column::new("t", vec![0.0, 1.0, 0.0, 1.0]),
            Column::new("y", vec![1.0, 2.0, 3.0, 4.0]),
            vec![Column::new("y", vec![1.0, 2.0, 3.0, 4.0])],
        )
        .unwrap_err();
        assert_eq!(error, CausalError::DuplicateColumn("y".into()));
    }
}
