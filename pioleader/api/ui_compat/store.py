"""Nothing stored: every compatibility route reads through the handler it stands for."""
