"""Code the tests share: fake hub servers, a lab runner, the notebook scanner, the offline probe script."""
