# Convenience targets; each one is the same as `python3 dev.py TARGET`.
.PHONY: dashboard test lint bench
dashboard:
	python3 dev.py dashboard
test:
	python3 dev.py test
lint:
	python3 dev.py lint
