"""The cost estimate in infra/README.md is cost.py's output for the current terraform.tfvars,
and every instance class an environment uses has a price there."""
import os
import unittest

import cost
from tfmodel import ENVIRONMENTS, ROOT

README = os.path.join(ROOT, "infra", "README.md")
BEGIN, END = "<!-- cost.py: begin -->", "<!-- cost.py: end -->"


class CostTests(unittest.TestCase):
    def test_every_size_has_a_price(self):
        for name in ENVIRONMENTS:
            with self.subTest(environment=name):
                lines = cost.estimate(name)
                self.assertTrue(all(value >= 0 for _, value in lines))
                self.assertGreater(sum(value for _, value in lines), 0)

    def test_the_readme_shows_the_current_estimate(self):
        with open(README, encoding="utf-8") as handle:
            text = handle.read()
        self.assertIn(BEGIN, text)
        shown = text.split(BEGIN, 1)[1].split(END, 1)[0].strip("\n")
        self.assertEqual(shown, cost.render().strip("\n"),
                         "infra/README.md's cost tables are stale: paste the output of "
                         "`.venv/infra-hcl2/bin/python infra/checks/cost.py` between the cost.py markers")


if __name__ == "__main__":
    unittest.main()
