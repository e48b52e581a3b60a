//! Coded enums: one declaration gives each value its wire code, its Chinese and English
//! labels, and the list of every value in form order — so no screen, page or query parser
//! spells the list or the codes again.
//!
//! Frozen wire format: the codes are the serde names of protocol version 1 (mostly
//! snake_case; `DropoutReason` kept its original names). `tests/golden.rs` pins them.

use std::fmt;

/// A code that names no value of the enum.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnknownCode {
    pub code: String,
    pub expected: &'static [&'static str],
}

impl fmt::Display for UnknownCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "unknown value `{}`, expected one of {}",
            self.code,
            self.expected.join(", ")
        )
    }
}

impl std::error::Error for UnknownCode {}

/// Declares a coded enum: `Variant = "code", "中文", "English";` for each value, in the order
/// forms list them. Gives `ALL`, `CODES`, `code()`, `zh()`, `en()`, `FromStr`, `Display` (the
/// code) and serde through the code.
#[macro_export]
macro_rules! coded_enum {
    (
        $(#[$meta:meta])*
        $vis:vis enum $name:ident {
            $(
                $(#[$vmeta:meta])*
                $variant:ident = $code:literal, $zh:literal, $en:literal;
            )+
        }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        $vis enum $name {
            $( $(#[$vmeta])* $variant, )+
        }

        impl $name {
            /// Every value, in the order forms list them.
            pub const ALL: &'static [$name] = &[$($name::$variant),+];
            /// Every wire code, in the same order.
            pub const CODES: &'static [&'static str] = &[$($code),+];

            /// The wire code (also the value of a form's option and a query parameter).
            pub fn code(self) -> &'static str {
                match self { $($name::$variant => $code),+ }
            }

            /// The Chinese term, as forms, pages and reports show it.
            pub fn zh(self) -> &'static str {
                match self { $($name::$variant => $zh),+ }
            }

            /// The English label.
            pub fn en(self) -> &'static str {
                match self { $($name::$variant => $en),+ }
            }
        }

        impl ::std::str::FromStr for $name {
            type Err = $crate::coded::UnknownCode;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                match s {
                    $($code => Ok($name::$variant),)+
                    _ => Err($crate::coded::UnknownCode {
                        code: s.to_string(),
                        expected: Self::CODES,
                    }),
                }
            }
        }

        impl ::std::fmt::Display for $name {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                f.write_str(self.code())
            }
        }

        impl ::serde::Serialize for $name {
            fn serialize<S: ::serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(self.code())
            }
        }

        impl<'de> ::serde::Deserialize<'de> for $name {
            fn deserialize<D: ::serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                struct V;
                impl ::serde::de::Visitor<'_> for V {
                    type Value = $name;
                    fn expecting(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                        write!(f, "one of {}", $name::CODES.join(", "))
                    }
                    fn visit_str<E: ::serde::de::Error>(self, v: &str) -> Result<$name, E> {
                        v.parse()
                            .map_err(|_| E::unknown_variant(v, $name::CODES))
                    }
                }
                d.deserialize_str(V)
            }
        }
    };
}

#[cfg(test)]
mod tests {
    crate::coded_enum! {
        /// A test enum.
        enum Colour {
            Red = "red", "红", "red";
            DarkBlue = "dark_blue", "深蓝", "dark blue";
        }
    }

    #[test]
    fn one_declaration_gives_codes_labels_parsing_and_serde() {
        assert_eq!(Colour::ALL, &[Colour::Red, Colour::DarkBlue]);
        assert_eq!(Colour::DarkBlue.code(), "dark_blue");
        assert_eq!(Colour::DarkBlue.zh(), "深蓝");
        assert_eq!(Colour::DarkBlue.en(), "dark blue");
        assert_eq!("red".parse::<Colour>(), Ok(Colour::Red));
        let e = "blue".parse::<Colour>().unwrap_err();
        assert!(e.to_string().contains("red, dark_blue"), "{e}");
        assert_eq!(
            serde_json::to_string(&Colour::DarkBlue).unwrap(),
            "\"dark_blue\""
        );
        assert_eq!(
            serde_json::from_str::<Colour>("\"dark_blue\"").unwrap(),
            Colour::DarkBlue
        );
        let e = serde_json::from_str::<Colour>("\"blue\"").unwrap_err();
        assert!(e.to_string().contains("unknown variant `blue`"), "{e}");
    }
}
