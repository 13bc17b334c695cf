//! The shape of a tree's code, shared by both languages: nested `if`/`else` from the root, a leaf at the end of
//! every path, and subtrees deeper than [`MAX_NEST`] moved into functions of their own.

use super::cond::MAX_NEST;
use super::model::{Child, Tree};

/// What a language writes for the pieces of a tree function.
pub trait Syntax {
    /// The line opening `if (left) {` for node `node` of the tree.
    fn open_if(&self, node: usize) -> String;
    /// The line between the two branches.
    fn else_line(&self) -> &'static str;
    /// The line closing the `if`.
    fn close_line(&self) -> &'static str;
    /// The lines that produce leaf `leaf` (tree-local index) as the function's result.
    fn leaf(&self, leaf: usize) -> Vec<String>;
    /// The line that produces the result of the subtree function rooted at node `node`.
    fn call_subtree(&self, node: usize) -> String;
}

/// One function of a tree: its root (`None`: the tree's root) and its body lines, indented from 1.
pub struct Function {
    /// The node the function starts at; `None` for the tree's own function.
    pub subtree: Option<usize>,
    /// Body lines, each with its indent level (1 = the function's top level).
    pub body: Vec<(usize, String)>,
}

/// The functions of `tree`: the tree's own, then one per subtree cut at [`MAX_NEST`].
pub fn functions(tree: &Tree, syntax: &impl Syntax) -> Vec<Function> {
    let mut out = Vec::new();
    let root = if tree.nodes.is_empty() {
        Child::Leaf(0)
    } else {
        Child::Node(0)
    };
    let mut pending = vec![(None, root)];
    while let Some((subtree, start)) = pending.pop() {
        let mut body = Vec::new();
        let mut cuts = Vec::new();
        body_of(tree, start, 1, syntax, &mut body, &mut cuts);
        out.push(Function { subtree, body });
        // Subtrees in ascending node order (popped from the end).
        for &n in cuts.iter().rev() {
            pending.push((Some(n), Child::Node(n)));
        }
    }
    out
}

/// Writes the code for the subtree at `child` at indent `level` (nesting depth `level - 1`); recursion stops at
/// [`MAX_NEST`], where the subtree is cut.
fn body_of(
    tree: &Tree,
    child: Child,
    level: usize,
    syntax: &impl Syntax,
    body: &mut Vec<(usize, String)>,
    cuts: &mut Vec<usize>,
) {
    match child {
        Child::Leaf(l) => {
            for line in syntax.leaf(l) {
                body.push((level, line));
            }
        }
        Child::Node(n) if level > MAX_NEST => {
            cuts.push(n);
            body.push((level, syntax.call_subtree(n)));
        }
        Child::Node(n) => {
            let node = &tree.nodes[n];
            body.push((level, syntax.open_if(n)));
            body_of(tree, node.left, level + 1, syntax, body, cuts);
            body.push((level, syntax.else_line().to_string()));
            body_of(tree, node.right, level + 1, syntax, body, cuts);
            body.push((level, syntax.close_line().to_string()));
        }
    }
}

/// Joins body lines with four spaces per level.
pub fn render(body: &[(usize, String)], out: &mut String) {
    for (level, line) in body {
        for _ in 0..*level {
            out.push_str("    ");
        }
        out.push_str(line);
        out.push('\n');
    }
}
