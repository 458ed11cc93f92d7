"""Quality evaluations: each module has main(argv=None) writing JSON under results/eval/."""
