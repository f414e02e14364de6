"""Program sessions (talks), speakers, agenda, Q&A, polls and attendance."""
