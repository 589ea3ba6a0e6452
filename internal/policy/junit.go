package policy

import (
	"encoding/xml"
	"io"
)

// JUnit XML, as CI systems (GitLab, Jenkins, Azure DevOps, GitHub test
// reporters) read it: a testsuite per rule that ran, a testcase per object
// the rule fired on, with a failure for a denial and the warning in
// system-out for a warning (which passes, as plumb check does). A rule that
// fired on nothing has one passing testcase, so the report shows every
// guardrail that was checked.

type junitSuites struct {
	XMLName  xml.Name     `xml:"testsuites"`
	Name     string       `xml:"name,attr"`
	Tests    int          `xml:"tests,attr"`
	Failures int          `xml:"failures,attr"`
	Suites   []junitSuite `xml:"testsuite"`
}

type junitSuite struct {
	Name     string      `xml:"name,attr"`
	Tests    int         `xml:"tests,attr"`
	Failures int         `xml:"failures,attr"`
	Errors   int         `xml:"errors,attr"`
	Skipped  int         `xml:"skipped,attr"`
	Cases    []junitCase `xml:"testcase"`
}

type junitCase struct {
	Name      string        `xml:"name,attr"`
	Classname string        `xml:"classname,attr"`
	File      string        `xml:"file,attr,omitempty"`
	Line      int           `xml:"line,attr,omitempty"`
	Failure   *junitFailure `xml:"failure,omitempty"`
	SystemOut string        `xml:"system-out,omitempty"`
}

type junitFailure struct {
	Message string `xml:"message,attr"`
	Type    string `xml:"type,attr"`
	Text    string `xml:",chardata"`
}

// writeJUnit writes r as JUnit XML.
func writeJUnit(w io.Writer, r Result) error {
	doc := junitSuites{Name: "plumb check", Suites: []junitSuite{}}
	index := map[string]int{}
	suite := func(name string) *junitSuite {
		i, ok := index[name]
		if !ok {
			i = len(doc.Suites)
			index[name] = i
			doc.Suites = append(doc.Suites, junitSuite{Name: name, Cases: []junitCase{}})
		}
		return &doc.Suites[i]
	}
	for _, rule := range r.Rules {
		suite(rule.Name)
	}
	for _, v := range r.Violations {
		s := suite(v.Rule)
		c := junitCase{Name: v.object(), Classname: v.Rule}
		where := ""
		if v.Source != nil {
			c.File, c.Line = v.Source.Path, v.Source.Line
			where = v.Source.String() + ": "
		}
		text := where + v.object() + ": " + v.Message
		if v.Severity == SeverityDeny {
			c.Failure = &junitFailure{Message: v.Message, Type: string(v.Severity), Text: text}
			s.Failures++
		} else {
			c.SystemOut = "warning: " + text
		}
		s.Cases = append(s.Cases, c)
	}
	for i := range doc.Suites {
		s := &doc.Suites[i]
		if len(s.Cases) == 0 {
			s.Cases = append(s.Cases, junitCase{Name: "no change violates " + s.Name, Classname: s.Name})
		}
		s.Tests = len(s.Cases)
		doc.Tests += s.Tests
		doc.Failures += s.Failures
	}
	if _, err := io.WriteString(w, xml.Header); err != nil {
		return err
	}
	enc := xml.NewEncoder(w)
	enc.Indent("", "  ")
	if err := enc.Encode(doc); err != nil {
		return err
	}
	_, err := io.WriteString(w, "\n")
	return err
}
