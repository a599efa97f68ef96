"""The README's worked example quotes the capacity model's figures for an
inline spec on results/baseline: they must be what the tool says today
(the text between <!-- model:begin --> and <!-- model:end --> is compared
with report.model_summary for the spec the same section gives inline)."""
import os
import re
import unittest

from mmfresults import data, model, report

TOP = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))


def worked_example(readme_text):
    """(inline spec, quoted figures) of the README's worked example."""
    m = re.search(r"<!-- worked-example:.*?-->(.*?)<!-- model:end -->", readme_text, re.S)
    if not m:
        raise AssertionError("README.md: no worked example between <!-- worked-example: --> and "
                             "<!-- model:end -->")
    section = m.group(1)
    spec = re.search(r"--workload '([^']+)'", section)
    quoted = re.search(r"<!-- model:begin -->(.*)", section, re.S)
    if not spec or not quoted:
        raise AssertionError("README.md: the worked example lacks its --workload '...' or <!-- model:begin -->")
    return spec.group(1), " ".join(quoted.group(1).split())


class ReadmeNumbersTest(unittest.TestCase):
    def test_worked_example_reproduces_from_the_baseline(self):
        with open(os.path.join(TOP, "README.md"), encoding="utf-8") as f:
            spec_text, quoted = worked_example(f.read())
        res = data.load(os.path.join(TOP, "results", "baseline"))
        co = model.Coefficients(res)
        now = report.model_summary(model.load_spec(spec_text), co)
        self.assertEqual(quoted, now, "README.md's worked example no longer reproduces from results/baseline; "
                         "the tool says today:\n%s" % now)
        self.assertRegex(quoted, r"\d+\.\d MB/s sustainable")     # a figure, not "not predicted"

    def test_the_parser_sees_a_changed_number(self):
        text = ("<!-- worked-example: x -->\n`--workload 'record_bytes=1024,write_rate_mb_s=40,"
                "roll_size_mib=256'` ... <!-- model:begin -->153.6 MB/s sustainable<!-- model:end -->")
        spec, quoted = worked_example(text)
        self.assertEqual((spec, quoted), ("record_bytes=1024,write_rate_mb_s=40,roll_size_mib=256",
                                          "153.6 MB/s sustainable"))


if __name__ == "__main__":
    unittest.main()
