"""What the labs cost in `aws` mode: on-demand prices per instance type, and what each lab runs.

    python -m smworkshop.costs            print the cost table (markdown) for week1/instructor_guide.md
    python -m smworkshop.costs --update   rewrite that table in the guide in place

Each lab's list below follows what its notebook does in `aws` mode with its default parameters (the jobs
and endpoints it creates, on its INSTANCE_TYPE) and the durations its first cell states ("Cost in `aws`
mode"). tests/test_course_pages.py checks that each lab's total stays under the bound its notebook states,
that the instance types match the notebooks' parameters, and that the guide shows exactly this table.

Prices: US$ per instance-hour, on demand, REGION, for training, real-time hosting, batch transform and
processing alike (SageMaker bills these per second). See PRICE_SOURCE for where the numbers come from.
"""
import re
import sys
from dataclasses import dataclass

from .paths import REPO

REGION = "us-east-1"
PRICING_URL = "https://aws.amazon.com/sagemaker/pricing/"
PRICES_READ = "2026-11-27"
PRICE_SOURCE = (
    "AWS's pricing page could not be read from the workshop's build machine (its price table is rendered in the "
    "browser). The numbers are the us-east-1 on-demand rates quoted identically in several public SageMaker cost "
    "tables (ml.m5.large US$0.115, ml.m5.xlarge US$0.23, ml.t3.medium US$0.05 per hour), read on "
    f"{PRICES_READ}. Check them on {PRICING_URL} (tab On-Demand, your region) before an event.")
PRICES = {  # US$ per instance-hour, on demand, REGION
    "ml.m5.large": 0.115,
    "ml.m5.xlarge": 0.23,
    "ml.t3.medium": 0.05,   # the default instance of a Studio JupyterLab space
}
GUIDE = REPO / "week1" / "instructor_guide.md"
BEGIN, END = "<!-- costs:begin (python -m smworkshop.costs --update) -->", "<!-- costs:end -->"


@dataclass(frozen=True)
class Use:
    """COUNT instances of INSTANCE_TYPE for MINUTES, for WHAT (a job, an endpoint, ...)."""
    what: str
    instance_type: str
    minutes: float
    count: int = 1

    @property
    def dollars(self):
        return PRICES[self.instance_type] * self.count * self.minutes / 60

    def describe(self):
        count = f"{self.count} × " if self.count > 1 else ""
        return f"{self.what}: {count}{self.instance_type}, {self.minutes:g} min"


L, XL = "ml.m5.large", "ml.m5.xlarge"

# Per lab: what runs in aws mode with the default parameters.
LABS = {
    "01_bring_your_own_container": [Use("training job", L, 3), Use("endpoint", L, 5)],
    "02_bring_your_own_model": [Use("endpoint", L, 10),
                                Use("UpdateEndpoint: new instance beside the old", L, 5)],
    "03a_pytorch_script_mode": [Use("training job", XL, 4), Use("training job, torchrun", XL, 4, count=2),
                                Use("endpoint", XL, 5)],
    "03b_tensorflow_script_mode": [Use("training job", XL, 3), Use("endpoint, no code", XL, 5),
                                   Use("endpoint, handlers", XL, 5)],
    "03c_mxnet_legacy": [Use("training job", XL, 3), Use("endpoint, defaults", XL, 5),
                         Use("endpoint, hooks", XL, 5)],
    "04_builtin_xgboost": [Use("training job, misspelt hyperparameter", L, 3), Use("training job", L, 3),
                           Use("training jobs, depth sweep", L, 3, count=3), Use("endpoint", L, 10),
                           Use("batch transform job", L, 5)],
    "05_fairness_explainability": [Use("training job", L, 3), Use("endpoint", L, 15),
                                   Use("Clarify processing jobs", L, 5, count=3)],
    "06_security": [],  # by default everything is evaluated locally; IAM's policy simulator is free
}
# Off by default; an instructor who switches them on adds these.
OPTIONS = {
    "04_builtin_xgboost": ("RUN_TUNING_JOB = True", [Use("tuning job's training jobs", L, 3, count=6)]),
    "06_security": ("DEPLOY_STACKS = True", [Use("secure training job", L, 3)]),
}
# Per learner, for the day, whatever the labs do: the Studio space the notebooks run in (aws mode in Studio).
SPACE = Use("JupyterLab space, 8 hours", "ml.t3.medium", 8 * 60)


def lab_cost(lab):
    """US$ for one lab in aws mode with its default parameters."""
    return sum(use.dollars for use in LABS[lab])


def option_cost(lab):
    return sum(use.dollars for use in OPTIONS[lab][1]) if lab in OPTIONS else 0.0


def total():
    return sum(lab_cost(lab) for lab in LABS)


def markdown():
    """The cost table the instructor guide shows."""
    prices = ", ".join(f"{name} US${price:g}/h" for name, price in PRICES.items())
    lines = [f"On-demand prices in {REGION}: {prices}. Taken on {PRICES_READ} from public cost tables that quote "
             f"AWS's rates; AWS's [pricing page]({PRICING_URL}) could not be read from the build machine, so check "
             "them there before an event.",
             "",
             "| lab | what runs in `aws` mode (default parameters) | US$ | optional extra |",
             "|---|---|---|---|"]
    for lab, uses in LABS.items():
        runs = "; ".join(use.describe() for use in uses) or "nothing billed by SageMaker"
        extra = "-"
        if lab in OPTIONS:
            switch, extra_uses = OPTIONS[lab]
            extra = f"`{switch}`: " + "; ".join(u.describe() for u in extra_uses) + f" (+US${option_cost(lab):.2f})"
        lines.append(f"| {lab} | {runs} | {lab_cost(lab):.2f} | {extra} |")
    lines.append(f"| **all labs** | | **{total():.2f}** | |")
    lines.append(f"| per learner, any lab | {SPACE.describe()} (Studio only) | {SPACE.dollars:.2f} | |")
    return "\n".join(lines)


# ---- the notebooks' own claims ---------------------------------------------------------------------

COST_LINE = re.compile(r"\*\*Cost in `aws` mode\*\*(.*?)(?=\n\*\*|\Z)", re.S)
AMOUNT = re.compile(r"(well under|under|about|up to)\s+US\$(\d+(?:\.\d+)?)(?!\.?\d)(?!\s*(?:a month|per|an hour))")
A_FEW_CENTS = 0.10  # what "a few cents" is taken to mean when a notebook gives no number


def stated_bound(first_cell):
    """The US$ bound a notebook's first cell gives for the lab in aws mode: the first amount after 'under',
    'well under', 'about' or 'up to' in its "Cost in `aws` mode" paragraph, not a monthly or hourly rate;
    "a few cents" counts as US$0.10. None when the cell states no cost."""
    match = COST_LINE.search(first_cell)
    if not match:
        return None
    text = " ".join(match.group(1).split())
    amount = AMOUNT.search(text)
    if amount:
        return float(amount.group(2))
    return A_FEW_CENTS if "a few cents" in text else None


def update_guide(path=GUIDE):
    text = path.read_text()
    start, end = text.index(BEGIN) + len(BEGIN), text.index(END)
    path.write_text(text[:start] + "\n" + markdown() + "\n" + text[end:])


if __name__ == "__main__":
    if "--update" in sys.argv[1:]:
        update_guide()
        print(f"updated {GUIDE}")
    else:
        print(markdown())
