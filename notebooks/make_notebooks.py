"""Writes the three notebooks (kept as code so they stay small and reviewable): python notebooks/make_notebooks.py"""
from pathlib import Path

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

SETUP = '''import os
from pathlib import Path
from IPython.display import Image, Markdown, display

from replication.runs import protocols, runtime

runtime.configure()
# NOTEBOOK_PROTOCOL: paper | fast | smoke (the tests run smoke); re-running resumes from NOTEBOOK_OUT.
PROTOCOL = os.environ.get("NOTEBOOK_PROTOCOL", "smoke")
DATA_DIR = os.environ.get("REPLICATION_DATA_DIR", "../../shared/data")
OUT = Path(os.environ.get("NOTEBOOK_OUT", "../results/notebooks")) / "{name}" / PROTOCOL
print("protocol:", PROTOCOL, "| results:", OUT)'''

NOTEBOOKS = {
    "background_class.ipynb": [
        new_markdown_cell("# Background class defense (McCoyd & Wagner 2018)\n\n"
                          "A Table II network trained on EMNIST digits, and the same network with an 11th class of "
                          "non-confusing letters. The defense works if adversarial digits land in the background "
                          "class instead of another digit. This notebook runs the replication (resuming finished "
                          "units) and shows its measured-vs-published tables and figures."),
        new_code_cell(SETUP.format(name="background")),
        new_code_cell("from replication.background import experiment, report\n"
                      "from replication.reporting.report import markdown_table\n\n"
                      "results = experiment.run(protocols.background(PROTOCOL), OUT, DATA_DIR, seed=0)"),
        new_markdown_cell("## Measured beside published\n\nEach measured number carries its 95% interval and N; "
                          "each row gets the verdict of the report's one rule (consistent, inconsistent, "
                          "inconclusive, or not comparable)."),
        new_code_cell("display(Markdown(report.VERDICT_RULE))\n"
                      "for table, rows in report.all_rows(results).items():\n"
                      "    display(Markdown(f'**{table}**\\n\\n' + markdown_table(rows)))"),
        new_markdown_cell("## Deviations from the paper (generated from the protocol and data)"),
        new_code_cell("print('\\n'.join(report.deviation_items(results)))"),
        new_markdown_cell("## Outcomes against eps, and adversarial examples"),
        new_code_cell("for name in results['figures'].values():\n    display(Image(filename=str(OUT / name)))"),
    ],
    "deep_neural_rejection.ipynb": [
        new_markdown_cell("# Deep Neural Rejection (Sotgiu et al. 2020)\n\n"
                          "RBF SVMs on the network's last layers (NR: the last one; DNR: three, combined by a "
                          "stacked RBF SVM) reject inputs whose best class score is below theta. The attack is "
                          "defense-aware: PGD through a TensorFlow copy of the SVMs. The paper's sanity criterion: "
                          "every model must fall to ~0 accuracy at the largest eps, or the attack is suspect."),
        new_code_cell(SETUP.format(name="dnr")),
        new_code_cell("from replication.dnr import experiment, records, report\n\n"
                      "results = experiment.run(protocols.dnr(PROTOCOL), OUT, DATA_DIR, seed=0)"),
        new_markdown_cell("## The paper's checkable claims, per dataset"),
        new_code_cell("for name, ds in records.datasets(results).items():  # typed: runs, curves, aggregate\n"
                      "    display(Markdown(f'**{name}**\\n\\n' + '\\n'.join(report.claim_lines(name, ds))))\n"
                      "    for flag in ds.aggregate.sanity:\n"
                      "        print('SANITY FLAG:', flag)"),
        new_markdown_cell("## Security evaluation curves (Fig. 3), threshold trade-off (Fig. 4), gallery (Fig. 5/6)"),
        new_code_cell("for name in results['figures'].values():\n    display(Image(filename=str(OUT / name)))"),
    ],
    "unified_comparison.ipynb": [
        new_markdown_cell("# Beyond the papers: one security-evaluation axis\n\n"
                          "The background-class paper attacked its defense only with attacks unaware of the "
                          "background class. Here the DNR paper's defense-aware PGD attacks it, with the background "
                          "logit as the reject score, and the undefended nets, the background class, NR and DNR are "
                          "compared on the same MNIST digits, attack, eps grid and metric "
                          "(detected counts as correct)."),
        new_code_cell(SETUP.format(name="unified")),
        new_code_cell("from replication.unified import experiment, report\n\n"
                      "results = experiment.run(protocols.unified(PROTOCOL), OUT, DATA_DIR, seed=0)"),
        new_markdown_cell("## Does detection survive an attacker who knows about the background class?"),
        new_code_cell("display(Markdown('\\n'.join(['| attacks | eps | weak detected | adaptive detected | "
                      "weak other | '\n"
                      "                                'adaptive other | adaptive - weak / 2 | collapse |',\n"
                      "                                '|---|---|---|---|---|---|---|---|']\n"
                      "                               + report.collapse_rows(results) + [''] + "
                      "report.style_lines(results))))"),
        new_markdown_cell("## Where each defense fails"),
        new_code_cell("for model, fails in results['axis']['fails'].items():\n"
                      "    print(f\"{model:>10}: accuracy < 50% at eps {fails['below_50']}, "
                      "< 10% at eps {fails['below_10']}\")\n"
                      "for name in results['figures'].values():\n    display(Image(filename=str(OUT / name)))"),
        new_markdown_cell("## Is the attack strong enough?\n\n"
                          "The DNR paper's own test: accuracy must reach ~0 at the largest eps. Where the paper's "
                          "attack stalls, its restart from another class (secml's double initialisation) and the "
                          "reject-aware objective are tried; a sample counts as evaded when any of them evades it."),
        new_code_cell("axis = results['axis']\n"
                      "for model, acc in axis['worst_case'].items():\n"
                      "    print(f\"{model:>10}: paper's attack {axis['points'][model][-1]['accuracy']:5.1f}%, \"\n"
                      "          f\"worst case {acc[-1]:5.1f}% at eps {axis['eps'][-1]}\")\n"
                      "print(axis['worst_case_sanity'] or 'sanity criterion passed')"),
    ],
}

if __name__ == "__main__":
    here = Path(__file__).parent
    for name, cells in NOTEBOOKS.items():
        nb = new_notebook(cells=cells, metadata={"kernelspec": {"name": "python3", "display_name": "Python 3",
                                                                "language": "python"}})
        nbformat.write(nb, here / name)
