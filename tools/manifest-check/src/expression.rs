//! The subset of CEL that ClusterAdmissionPolicyGroup expressions use in
//! practice: member calls `name()`, `&&`, `||`, `!`, parentheses, `true`,
//! `false`. Anything else is refused at parse time, and the caller falls back
//! to "every member must accept" (said in the output).

use std::collections::BTreeMap;

/// A parsed group expression.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Expr {
    Literal(bool),
    /// `member()`: whether that member accepted.
    Member(String),
    Not(Box<Expr>),
    And(Box<Expr>, Box<Expr>),
    Or(Box<Expr>, Box<Expr>),
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Token {
    Ident(String),
    LParen,
    RParen,
    Not,
    And,
    Or,
}

fn tokenize(text: &str) -> Result<Vec<Token>, String> {
    let mut tokens = Vec::new();
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            c if c.is_whitespace() => {}
            '(' => tokens.push(Token::LParen),
            ')' => tokens.push(Token::RParen),
            '!' => tokens.push(Token::Not),
            '&' if chars.next_if_eq(&'&').is_some() => tokens.push(Token::And),
            '|' if chars.next_if_eq(&'|').is_some() => tokens.push(Token::Or),
            c if c.is_ascii_alphabetic() || c == '_' => {
                let mut ident = String::from(c);
                while let Some(n) = chars.next_if(|n| n.is_ascii_alphanumeric() || *n == '_') {
                    ident.push(n);
                }
                tokens.push(Token::Ident(ident));
            }
            other => return Err(format!("unsupported character {other:?}")),
        }
    }
    Ok(tokens)
}

struct Parser {
    tokens: Vec<Token>,
    pos: usize,
}

impl Parser {
    fn peek(&self) -> Option<&Token> {
        self.tokens.get(self.pos)
    }

    fn next(&mut self) -> Option<Token> {
        let token = self.tokens.get(self.pos).cloned();
        self.pos += 1;
        token
    }

    fn or(&mut self) -> Result<Expr, String> {
        self.chain(&Token::Or, Self::and, Expr::Or)
    }

    fn and(&mut self) -> Result<Expr, String> {
        self.chain(&Token::And, Self::unary, Expr::And)
    }

    /// `operand (operator operand)*`, grouped from the left by `join`.
    fn chain(
        &mut self,
        operator: &Token,
        operand: fn(&mut Self) -> Result<Expr, String>,
        join: fn(Box<Expr>, Box<Expr>) -> Expr,
    ) -> Result<Expr, String> {
        let mut left = operand(self)?;
        while self.peek() == Some(operator) {
            self.pos += 1;
            left = join(Box::new(left), Box::new(operand(self)?));
        }
        Ok(left)
    }

    fn unary(&mut self) -> Result<Expr, String> {
        match self.next() {
            Some(Token::Not) => Ok(Expr::Not(Box::new(self.unary()?))),
            Some(Token::LParen) => {
                let inner = self.or()?;
                match self.next() {
                    Some(Token::RParen) => Ok(inner),
                    _ => Err("missing )".to_owned()),
                }
            }
            Some(Token::Ident(name)) if name == "true" => Ok(Expr::Literal(true)),
            Some(Token::Ident(name)) if name == "false" => Ok(Expr::Literal(false)),
            Some(Token::Ident(name)) => {
                if self.next() == Some(Token::LParen) && self.next() == Some(Token::RParen) {
                    Ok(Expr::Member(name))
                } else {
                    Err(format!("expected {name}() (a member call)"))
                }
            }
            other => Err(format!("unexpected {other:?}")),
        }
    }
}

impl Expr {
    /// Parses an expression; `Err` says what is outside the supported subset.
    pub fn parse(text: &str) -> Result<Self, String> {
        let mut parser = Parser {
            tokens: tokenize(text)?,
            pos: 0,
        };
        let expr = parser.or()?;
        if parser.pos < parser.tokens.len() {
            return Err("unexpected text after the expression".to_owned());
        }
        Ok(expr)
    }

    pub fn members(&self, out: &mut Vec<String>) {
        match self {
            Self::Literal(_) => {}
            Self::Member(name) => out.push(name.clone()),
            Self::Not(e) => e.members(out),
            Self::And(a, b) | Self::Or(a, b) => {
                a.members(out);
                b.members(out);
            }
        }
    }

    /// Evaluates with each member's verdict (`true` = accepted); a member not
    /// in the map counts as accepted (it was not evaluated offline).
    pub fn eval(&self, verdicts: &BTreeMap<String, bool>) -> bool {
        match self {
            Self::Literal(b) => *b,
            Self::Member(name) => verdicts.get(name).copied().unwrap_or(true),
            Self::Not(e) => !e.eval(verdicts),
            Self::And(a, b) => a.eval(verdicts) && b.eval(verdicts),
            Self::Or(a, b) => a.eval(verdicts) || b.eval(verdicts),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_evaluates() {
        let e = Expr::parse("limits() && (tolerations() || !mig())").unwrap();
        let v = |l, t, m| {
            BTreeMap::from([
                ("limits".to_owned(), l),
                ("tolerations".to_owned(), t),
                ("mig".to_owned(), m),
            ])
        };
        assert!(e.eval(&v(true, true, true)));
        assert!(e.eval(&v(true, false, false)));
        assert!(!e.eval(&v(true, false, true)));
        assert!(!e.eval(&v(false, true, true)));
        let mut members = Vec::new();
        e.members(&mut members);
        assert_eq!(members, ["limits", "tolerations", "mig"]);
    }

    #[test]
    fn refuses_what_it_cannot_evaluate() {
        assert!(Expr::parse("a() && request.object.kind == 'Pod'").is_err());
        assert!(Expr::parse("a() &&").is_err());
        assert!(Expr::parse("a").is_err());
        assert!(Expr::parse("(a()").is_err());
        assert!(Expr::parse("a() b()").is_err());
    }
}
