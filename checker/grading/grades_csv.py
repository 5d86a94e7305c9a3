"""grades.csv, which `make grade` writes (run.py) and the class report reads (class_report.py): its
name, its columns, and the statuses of a submission that was graded."""

GRADES_FILE = "grades.csv"
COLUMNS = ["student_id", "assignment", "score", "max_score", "status", "reason", "late"]
GRADED = ("graded", "flagged", "for review")  # its score counts; else "invalid notebook", "not graded", "missing"
