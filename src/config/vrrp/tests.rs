use super::super::{SourceOptions, load_str};
use super::*;
