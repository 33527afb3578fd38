package main

import (
	"fmt"
	"strings"
	"text/tabwriter"

	"grouprank/train"
)

// reportTable formats an evaluation as an aligned terminal table or as Markdown.
func reportTable(rep *train.Report, markdown bool) string {
	oracle := len(rep.Results) > 0 && rep.Results[0].OracleRatio != nil
	head := []string{"method"}
	if oracle {
		head = append(head, "oracle@10", "oracle@20", "oracle@50")
	}
	head = append(head, "recall@10", "recall@20", "recall@50", "ndcg@10", "ndcg@20", "ndcg@50", "hr@10", "hr@20", "hr@50", "cov@20", "auc")
	var rows [][]string
	for _, r := range rep.Results {
		row := []string{r.Method}
		if oracle {
			for _, k := range train.Ks {
				row = append(row, fmt.Sprintf("%.3f", r.OracleRatio[k]))
			}
		}
		for _, m := range []map[int]float64{r.Recall, r.NDCG, r.HR} {
			for _, k := range train.Ks {
				row = append(row, fmt.Sprintf("%.4f", m[k]))
			}
		}
		row = append(row, fmt.Sprintf("%.3f", r.Coverage[20]), fmt.Sprintf("%.3f", r.AUC))
		rows = append(rows, row)
	}
	var b strings.Builder
	if markdown {
		b.WriteString("| " + strings.Join(head, " | ") + " |\n|")
		for range head {
			b.WriteString("---|")
		}
		b.WriteString("\n")
		for _, r := range rows {
			b.WriteString("| " + strings.Join(r, " | ") + " |\n")
		}
	} else {
		tw := tabwriter.NewWriter(&b, 2, 4, 2, ' ', 0)
		fmt.Fprintln(tw, strings.Join(head, "\t"))
		for _, r := range rows {
			fmt.Fprintln(tw, strings.Join(r, "\t"))
		}
		tw.Flush()
	}
	fmt.Fprintf(&b, "\n%d groups evaluated, %d eligible items", rep.Evaluated, rep.Eligible)
	if oracle {
		fmt.Fprintf(&b, "; oracle ratio over %d groups; AUC of the true push value: %.3f (a reference, not a ceiling: it scores what a push would sell,"+
			" while the test orders include members' own re-orders, which a model of the history can predict better)", rep.OracleGroups, rep.TruthAUC)
	}
	b.WriteString("\n")
	return b.String()
}
