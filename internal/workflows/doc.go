// Package workflows checks the GitHub Actions workflows in .github/workflows. They cannot run
// on the machines this bundle is developed on (no GitHub there), so its tests are what checks
// them before a push: actionlint (syntax, expressions, action inputs, and with shellcheck
// installed the run: scripts) and the rule that every action is pinned by full commit.
package workflows
